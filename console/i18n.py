"""The console's words in English and Chinese.

Status names are the CLI's (``under_review 审批中``) in both languages. The accessible
names CONTRACT.md fixes (``Reviewer ID``, ``Password``, ``Sign in``, ``Comment``,
``Approve``, ``Reject``, ``Sign out``) are not here: the templates set them as
``aria-label`` so they stay English whatever the page shows.
"""

from __future__ import annotations

from collections.abc import Callable

from models.domain import DesignatedReason
from models.review import (
    REVIEW_DESIGNATED_ACCOUNT,
    REVIEW_NON_RECHARGE,
    REVIEW_SAME_IDENTITY_OVERDUE,
)

LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"

_EN: dict[str, str] = {
    "console": "Reviewer console",
    "queue": "Review queue",
    "queue_title": "{count} waiting for review",
    "signed_in_as": "Signed in as {name} ({role})",
    "sign_in_title": "Sign in to review withdrawals",
    "reviewer_id": "Reviewer ID",
    "password": "Password",
    "sign_in": "Sign in",
    "sign_out": "Sign out",
    "auth_failed": "Authentication failed.",
    "signed_out": "You are signed out.",
    "session_expired": "Your session has expired; sign in again.",
    "csrf_failed": "This form has expired or did not come from this console. Reload the page.",
    "language": "中文",
    "filters": "Filters",
    "route": "Route",
    "reason": "Reason",
    "overdue_only": "Overdue only",
    "any": "any",
    "apply": "Apply",
    "clear": "Clear",
    "id": "Withdrawal",
    "amount": "Amount",
    "kind": "Kind",
    "waiting": "Waiting",
    "sla": "SLA",
    "why_review": "Why review",
    "approvals": "Approvals",
    "approvals_progress": "{count} of {required}",
    "overdue": "overdue",
    "left": "{time} left",
    "empty_queue": "No withdrawal is waiting for review.",
    "refreshes": "This list refreshes every {seconds} s.",
    "back_to_queue": "Back to the queue",
    "status": "Status",
    "account": "Account",
    "account_state": "{type}, {status}",
    "order": "Recharge order",
    "payee": "Payee (masked)",
    "branch": "Branch",
    "r9_reason": "R9 reason",
    "requested_by": "Requested by",
    "under_review_since": "Under review since",
    "sla_due": "SLA due",
    "expected_arrival": "Expected arrival by",
    "provisional": "provisional: no holiday calendar for that year yet",
    "proofs": "Proof material (R9)",
    "no_proofs": "No proof attached.",
    "proof_n": "Proof {n}",
    "open_proof": "Open proof {n} on its own",
    "decide": "Decision",
    "comment_hint": "A rejection needs a comment; the applicant sees it as the reason.",
    "comment_label": "Comment",
    "approve": "Approve",
    "reject": "Reject",
    "approve_noun": "approval",
    "reject_noun": "rejection",
    "needs_second": "Approved by {who}: a second, different reviewer must approve (four-eyes).",
    "not_under_review": "This withdrawal is not under review; there is nothing to decide.",
    "decision_accepted": "Your {decision} was accepted: {why}.",
    "decision_refused": "Refused: your {decision} was ignored by the workflow: {why}.",
    "decision_not_weighed": "The workflow did not weigh your {decision} in time; reload to see.",
    "decision_too_late": "Too late: the withdrawal is {status}.",
    "reject_needs_comment": "A rejection needs a comment (the reason the applicant sees).",
    "comment_too_long": "The comment is longer than {limit} characters.",
    "timeline": "Timeline",
    "at": "At",
    "note": "Note",
    "decisions": "Review decisions",
    "reviewer": "Reviewer",
    "decision": "Decision",
    "outcome": "Outcome",
    "accepted": "counted",
    "refused": "refused",
    "recent": "Recent withdrawals of this account",
    "no_recent": "No other withdrawals.",
    "created": "Created",
    "temporal_link": "Open the workflow in the Temporal Web UI",
    "unknown_withdrawal": "No withdrawal {id}.",
    "workflow_unreachable": "Temporal did not answer; the record below may be behind.",
    "skip": "Skip to content",
    "route_original": "original route",
    "route_alipay": "Alipay (designated)",
    "route_bank": "bank card (designated)",
    "kind_recharge": "recharge (R5)",
    "kind_non_recharge": "non-recharge (R6)",
}

_ZH: dict[str, str] = {
    "console": "审核控制台",
    "queue": "待审批队列",
    "queue_title": "{count} 笔待审批",
    "signed_in_as": "当前审核员:{name}({role})",
    "sign_in_title": "登录以审批提现",
    "reviewer_id": "审核员编号",
    "password": "密码",
    "sign_in": "登录",
    "sign_out": "退出",
    "auth_failed": "认证失败。",
    "signed_out": "已退出登录。",
    "session_expired": "会话已过期,请重新登录。",
    "csrf_failed": "表单已过期或并非来自本控制台,请刷新页面。",
    "language": "English",
    "filters": "筛选",
    "route": "提现方式",
    "reason": "原因",
    "overdue_only": "仅看超时",
    "any": "全部",
    "apply": "筛选",
    "clear": "清除",
    "id": "提现单",
    "amount": "金额",
    "kind": "类型",
    "waiting": "已等待",
    "sla": "时限",
    "why_review": "审批原因",
    "approvals": "审批进度",
    "approvals_progress": "{count} / {required}",
    "overdue": "已超时",
    "left": "剩余 {time}",
    "empty_queue": "没有待审批的提现。",
    "refreshes": "列表每 {seconds} 秒自动刷新。",
    "back_to_queue": "返回队列",
    "status": "状态",
    "account": "账号",
    "account_state": "{type},{status}",
    "order": "充值订单",
    "payee": "收款账户(已脱敏)",
    "branch": "开户网点",
    "r9_reason": "指定账户原因(R9)",
    "requested_by": "申请人",
    "under_review_since": "进入审批",
    "sla_due": "审批时限",
    "expected_arrival": "预计到账",
    "provisional": "暂估：该年节假日安排尚未录入",
    "proofs": "证明材料(R9)",
    "no_proofs": "未附证明材料。",
    "proof_n": "材料 {n}",
    "open_proof": "单独打开材料 {n}",
    "decide": "审批",
    "comment_hint": "拒绝必须填写意见,申请人会看到该原因。",
    "comment_label": "审批意见",
    "approve": "通过",
    "reject": "拒绝",
    "approve_noun": "通过",
    "reject_noun": "拒绝",
    "needs_second": "已由 {who} 通过:超过双人复核金额,需另一位审核员通过。",
    "not_under_review": "该提现不在审批中,无需审批。",
    "decision_accepted": "您的{decision}已生效:{why}。",
    "decision_refused": "被拒绝:流程未采纳您的{decision}:{why}。",
    "decision_not_weighed": "流程未及时处理您的{decision},请刷新查看。",
    "decision_too_late": "已晚:该提现状态为 {status}。",
    "reject_needs_comment": "拒绝必须填写意见(申请人看到的原因)。",
    "comment_too_long": "意见超过 {limit} 个字符。",
    "timeline": "时间线",
    "at": "时间",
    "note": "说明",
    "decisions": "审批记录",
    "reviewer": "审核员",
    "decision": "决定",
    "outcome": "结果",
    "accepted": "已计入",
    "refused": "被拒绝",
    "recent": "该账号近期提现",
    "no_recent": "没有其他提现。",
    "created": "创建时间",
    "temporal_link": "在 Temporal Web UI 中查看该流程",
    "unknown_withdrawal": "没有提现单 {id}。",
    "workflow_unreachable": "Temporal 未响应,以下记录可能滞后。",
    "skip": "跳到正文",
    "route_original": "原路退回",
    "route_alipay": "支付宝(指定账户)",
    "route_bank": "银行卡(指定账户)",
    "kind_recharge": "充值提现(R5)",
    "kind_non_recharge": "非充值申请(R6)",
}

_R9_WORDS: dict[str, dict[str, str]] = {
    "en": {
        DesignatedReason.LIMIT_PASSED: "the original route's time limit has passed (R8)",
        DesignatedReason.PAYER_ACCOUNT_CLOSED: "the paying account is closed or cannot receive",
        DesignatedReason.PAYER_ENTERPRISE_DEREGISTERED: "the paying enterprise is deregistered",
        DesignatedReason.EMPLOYEE_REIMBURSED: "an employee paid and was reimbursed",
    },
    "zh": {
        DesignatedReason.LIMIT_PASSED: "原路退回已超期限(R8)",
        DesignatedReason.PAYER_ACCOUNT_CLOSED: "原付款账户已注销或无法收款",
        DesignatedReason.PAYER_ENTERPRISE_DEREGISTERED: "付款企业已注销",
        DesignatedReason.EMPLOYEE_REIMBURSED: "员工垫付已报销,由企业收款",
    },
}

# R17 triggers as the workflow writes them (models.review), in words for each language.
_R17_WORDS: dict[str, dict[str, str]] = {
    "en": {
        REVIEW_DESIGNATED_ACCOUNT: "designated receiving account (R9)",
        REVIEW_NON_RECHARGE: "non-recharge application (R6)",
        REVIEW_SAME_IDENTITY_OVERDUE: "an account under the same real name owes overdue debt",
    },
    "zh": {
        REVIEW_DESIGNATED_ACCOUNT: "提现到指定账户(R9)",
        REVIEW_NON_RECHARGE: "非充值提现申请(R6)",
        REVIEW_SAME_IDENTITY_OVERDUE: "同一实名下的账号有逾期欠款",
    },
}
# The queue's reason filter: a short key per R17 trigger.
R17_FILTERS: dict[str, str] = {
    "designated": REVIEW_DESIGNATED_ACCOUNT,
    "non_recharge": REVIEW_NON_RECHARGE,
    "risk": REVIEW_SAME_IDENTITY_OVERDUE,
}


def pick_language(requested: str | None, accept_language: str | None) -> str:
    if requested in LANGUAGES:
        return requested
    if accept_language and accept_language.strip().lower().startswith("zh"):
        return "zh"
    return DEFAULT_LANGUAGE


def translator(language: str) -> Callable[..., str]:
    table = _ZH if language == "zh" else _EN

    def t(key: str, **values: object) -> str:
        text = table.get(key, _EN.get(key, key))
        return text.format(**values) if values else text

    return t


def r9_words(language: str, reason: str | None) -> str:
    if not reason:
        return ""
    return _R9_WORDS.get(language, _R9_WORDS["en"]).get(reason, reason)


def r17_words(language: str, reason: str) -> str:
    return _R17_WORDS.get(language, _R17_WORDS["en"]).get(reason, reason)
