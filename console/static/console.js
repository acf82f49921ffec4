// The reviewer console's only script: the queue refreshes itself, and Reject asks for
// a comment before the form leaves (the server refuses a rejection without one anyway).
"use strict";

function refreshQueue(box) {
  const seconds = Number(box.dataset.refreshSeconds || "15");
  setInterval(async () => {
    if (document.hidden || box.contains(document.activeElement)) return;
    try {
      const answer = await fetch(window.location.href, { credentials: "same-origin" });
      if (!answer.ok || answer.redirected) return;
      const page = new DOMParser().parseFromString(await answer.text(), "text/html");
      const fresh = page.getElementById("queue");
      if (fresh) {
        box.innerHTML = fresh.innerHTML;
        document.title = page.title;
        const heading = page.querySelector("h1 .count");
        const current = document.querySelector("h1 .count");
        if (heading && current) current.textContent = heading.textContent;
      }
    } catch (error) {
      // offline for a moment: the next tick tries again
    }
  }, seconds * 1000);
}

function requireCommentOnReject(form) {
  const comment = form.querySelector("textarea[name=comment]");
  const reject = form.querySelector("button[value=reject]");
  if (!comment || !reject) return;
  reject.addEventListener("click", (event) => {
    if (comment.value.trim() === "") {
      event.preventDefault();
      comment.setCustomValidity(reject.dataset.needsComment || "A comment is needed");
      comment.reportValidity();
      comment.focus();
    }
  });
  comment.addEventListener("input", () => comment.setCustomValidity(""));
}

document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("queue");
  if (box) refreshQueue(box);
  const form = document.getElementById("decision-form");
  if (form) requireCommentOnReject(form);
});
