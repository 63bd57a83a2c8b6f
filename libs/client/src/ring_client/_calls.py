"""Every operation the client offers, declared once as a typed function returning a :class:`Call`.

``Ring`` and ``AsyncRing`` expose each of these as a method of the same name and signature
(``ring.get_task(task_id)`` sends ``get_task(task_id)`` and returns its decoded answer), so a
method's path, method, body and answer model are written here only. Operations come from the
generated ``_openapi`` module: a renamed or removed operation fails the type check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal
from uuid import UUID

from ring_client import _openapi as api
from ring_client._core import Call, Upload, content, json_as, no_content
from ring_client._openapi import (
    AddEvidenceBody,
    DeliveryPage,
    DisputeRequest,
    LoginRequest,
    LogoutRequest,
    Me,
    MessageRequest,
    MoneyRequest,
    OptionalReasonRequest,
    ProgressRequest,
    QualificationRequest,
    ReasonRequest,
    RedeliveryScheduled,
    RefreshRequest,
    Registered,
    RegisterRequest,
    ResolutionRequest,
    RotatedSecret,
    SecretRotation,
    StatementRequest,
    TaskCreateRequest,
    Tokens,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookDeleted,
    WebhookPage,
    WebhookUpdate,
)
from ring_client.models import (
    Candidate,
    Created,
    Deposit,
    Dispute,
    Message,
    Order,
    OrderSummary,
    Page,
    Provider,
    Recommendation,
    Statement,
    SubmittedVoucher,
    Task,
    TaskSummary,
    Voucher,
    Wallet,
    Withdrawal,
)

Id = UUID | str


# -- accounts ------------------------------------------------------------------------------


def register(
    *, email: str, password: str, role: Literal["party_a", "party_b"], display_name: str
) -> Call[Registered]:
    """Create a Party A or Party B account (409 ``email_taken`` if the email is in use)."""
    body = RegisterRequest(email=email, password=password, role=role, display_name=display_name)
    return Call(api.REGISTER, json_as(Registered), json=body, authenticated=False)


def login(email: str, password: str) -> Call[Tokens]:
    """Exchange email and password for tokens (``Unauthorized`` ``invalid_credentials``)."""
    body = LoginRequest(email=email, password=password)
    return Call(api.LOGIN, json_as(Tokens), json=body, authenticated=False)


def refresh_tokens(refresh_token: str) -> Call[Tokens]:
    """Exchange a refresh token, once, for a new pair (the client does this by itself)."""
    body = RefreshRequest(refresh_token=refresh_token)
    return Call(api.REFRESH_TOKENS, json_as(Tokens), json=body, authenticated=False)


def logout(refresh_token: str, *, all_sessions: bool = False) -> Call[None]:
    """End the session of ``refresh_token`` (or every session of its user)."""
    body = LogoutRequest(refresh_token=refresh_token, all_sessions=all_sessions)
    return Call(api.LOGOUT, no_content, json=body, authenticated=False)


def me() -> Call[Me]:
    """The caller's profile, role and (for Party B) verification status."""
    return Call(api.GET_ME, json_as(Me))


# -- wallet --------------------------------------------------------------------------------


def wallet(currency: str) -> Call[Wallet]:
    """Available and reserved money of the caller in ``currency``."""
    return Call(api.GET_WALLET, json_as(Wallet), query={"currency": currency})


def deposit(
    amount_minor: int, currency: str, *, idempotency_key: str | None = None
) -> Call[Deposit]:
    """Party A funds its wallet (an ``Idempotency-Key`` is drawn unless given)."""
    body = MoneyRequest(amount_minor=amount_minor, currency=currency)
    return Call(api.CREATE_DEPOSIT, json_as(Deposit), json=body, idempotency_key=idempotency_key)


def withdraw(
    amount_minor: int, currency: str, *, idempotency_key: str | None = None
) -> Call[Withdrawal]:
    """Party B requests a payout of available money (an ``Idempotency-Key`` is drawn unless
    given)."""
    body = MoneyRequest(amount_minor=amount_minor, currency=currency)
    return Call(
        api.CREATE_WITHDRAWAL, json_as(Withdrawal), json=body, idempotency_key=idempotency_key
    )


def get_withdrawal(withdrawal_id: Id) -> Call[Withdrawal]:
    """One of the caller's payouts."""
    params = {"withdrawal_id": withdrawal_id}
    return Call(api.GET_WITHDRAWAL, json_as(Withdrawal), path_params=params)


def cancel_withdrawal(withdrawal_id: Id) -> Call[Withdrawal]:
    """Cancel a payout not yet paid; the amount is available again."""
    params = {"withdrawal_id": withdrawal_id}
    return Call(api.CANCEL_WITHDRAWAL, json_as(Withdrawal), path_params=params)


def statement(currency: str, *, cursor: int | None = None, limit: int = 50) -> Call[Statement]:
    """One page of the caller's postings in ``currency``, oldest first."""
    query = {"currency": currency, "cursor": cursor, "limit": limit}
    return Call(api.GET_STATEMENT, json_as(Statement), query=query)


# -- tasks ---------------------------------------------------------------------------------


def create_task(task: TaskCreateRequest, *, idempotency_key: str | None = None) -> Call[Created]:
    """Party A drafts a task (an ``Idempotency-Key`` is drawn unless given)."""
    return Call(api.CREATE_TASK, json_as(Created), json=task, idempotency_key=idempotency_key)


def publish_task(task_id: Id) -> Call[Task]:
    """Ask to publish; the task becomes ``published`` once escrow holds the money
    (``wait_for_task``)."""
    return Call(api.PUBLISH_TASK, json_as(Task), path_params={"task_id": task_id})


def cancel_task(task_id: Id) -> Call[Task]:
    """Cancel the task with its unsubmitted orders; unused escrow is refunded."""
    return Call(api.CANCEL_TASK, json_as(Task), path_params={"task_id": task_id})


def get_task(task_id: Id) -> Call[Task]:
    """One task with ``status``, ``slots_left``, ``fee_minor`` and ``reserved_minor``."""
    return Call(api.GET_TASK, json_as(Task), path_params={"task_id": task_id})


def list_tasks(
    *,
    status: str | None = None,
    skill: str | None = None,
    min_commission: int | None = None,
    currency: str | None = None,
    q: str | None = None,
    owner_id: Id | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> Call[Page[TaskSummary]]:
    """One page of the task board, newest first (``iter_tasks`` walks every page)."""
    query = {
        "status": status,
        "skill": skill,
        "min_commission": min_commission,
        "currency": currency,
        "q": q,
        "owner_id": owner_id,
        "cursor": cursor,
        "limit": limit,
    }
    return Call(api.LIST_TASKS, json_as(Page[TaskSummary]), query=query)


def list_candidates(task_id: Id, *, limit: int = 20) -> Call[list[Candidate]]:
    """Providers ranked for the owner's task, best first."""
    return Call(
        api.LIST_CANDIDATES,
        json_as(list[Candidate]),
        path_params={"task_id": task_id},
        query={"limit": limit},
    )


def take_order(task_id: Id, *, idempotency_key: str | None = None) -> Call[Created]:
    """A verified Party B takes a slot (``applied`` when the owner must approve; an
    ``Idempotency-Key`` is drawn unless given)."""
    return Call(
        api.TAKE_ORDER,
        json_as(Created),
        path_params={"task_id": task_id},
        idempotency_key=idempotency_key,
    )


# -- orders --------------------------------------------------------------------------------


def list_orders(
    *,
    status: str | None = None,
    task_id: Id | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> Call[Page[OrderSummary]]:
    """One page of the caller's orders, newest first (``iter_orders`` walks every page)."""
    query = {"status": status, "task_id": task_id, "cursor": cursor, "limit": limit}
    return Call(api.LIST_ORDERS, json_as(Page[OrderSummary]), query=query)


def get_order(order_id: Id) -> Call[Order]:
    """One order with its status and history."""
    return Call(api.GET_ORDER, json_as(Order), path_params={"order_id": order_id})


def approve_application(order_id: Id) -> Call[Order]:
    """The task owner admits an application."""
    return Call(api.APPROVE_APPLICATION, json_as(Order), path_params={"order_id": order_id})


def decline_application(order_id: Id, *, reason: str = "") -> Call[Order]:
    """The task owner turns an application down."""
    return Call(
        api.DECLINE_APPLICATION,
        json_as(Order),
        path_params={"order_id": order_id},
        json=OptionalReasonRequest(reason=reason),
    )


def report_progress(order_id: Id, percent: int, *, note: str = "") -> Call[Order]:
    """The provider reports progress."""
    return Call(
        api.REPORT_PROGRESS,
        json_as(Order),
        path_params={"order_id": order_id},
        json=ProgressRequest(percent=percent, note=note),
    )


def post_message(order_id: Id, body: str) -> Call[Message]:
    """Write to the other party of the order."""
    return Call(
        api.POST_MESSAGE,
        json_as(Message),
        path_params={"order_id": order_id},
        json=MessageRequest(body=body),
    )


def list_messages(
    order_id: Id, *, cursor: str | None = None, limit: int = 50
) -> Call[Page[Message]]:
    """One page of the order's conversation, oldest first (``iter_messages``: every page)."""
    return Call(
        api.LIST_MESSAGES,
        json_as(Page[Message]),
        path_params={"order_id": order_id},
        query={"cursor": cursor, "limit": limit},
    )


def submit_voucher(
    order_id: Id, files: Sequence[Upload], *, note: str = ""
) -> Call[SubmittedVoucher]:
    """The provider uploads proof of completion: ``(file name, content, content type)`` each."""
    return Call(
        api.SUBMIT_VOUCHER,
        json_as(SubmittedVoucher),
        path_params={"order_id": order_id},
        files=[("files", upload) for upload in files],
        form={"note": note} if note else {},
    )


def list_order_vouchers(
    order_id: Id, *, cursor: str | None = None, limit: int = 20
) -> Call[Page[Voucher]]:
    """One page of the order's vouchers, oldest first (``iter_order_vouchers``: every page)."""
    return Call(
        api.LIST_ORDER_VOUCHERS,
        json_as(Page[Voucher]),
        path_params={"order_id": order_id},
        query={"cursor": cursor, "limit": limit},
    )


# -- vouchers ------------------------------------------------------------------------------


def get_voucher(voucher_id: Id) -> Call[Voucher]:
    """The voucher with its files, flags and duplicates."""
    return Call(api.GET_VOUCHER, json_as(Voucher), path_params={"voucher_id": voucher_id})


def get_voucher_file(voucher_id: Id, sha256: str) -> Call[bytes]:
    """Download one file of the voucher."""
    params = {"voucher_id": voucher_id, "sha256": sha256}
    return Call(api.GET_VOUCHER_FILE, content, path_params=params)


def approve_voucher(voucher_id: Id) -> Call[Voucher]:
    """The task owner accepts the voucher; the commission is settled."""
    return Call(api.APPROVE_VOUCHER, json_as(Voucher), path_params={"voucher_id": voucher_id})


def reject_voucher(voucher_id: Id, reason: str) -> Call[Voucher]:
    """The task owner rejects the voucher; the provider may resubmit or dispute."""
    return Call(
        api.REJECT_VOUCHER,
        json_as(Voucher),
        path_params={"voucher_id": voucher_id},
        json=ReasonRequest(reason=reason),
    )


# -- providers -----------------------------------------------------------------------------


def submit_qualification(*, kind: str, reference: str, skills: list[str]) -> Call[Provider]:
    """Party B submits a qualification for an admin's review."""
    body = QualificationRequest(kind=kind, reference=reference, skills=skills)
    return Call(api.SUBMIT_QUALIFICATION, json_as(Provider), json=body)


def list_recommendations(*, limit: int = 20) -> Call[list[Recommendation]]:
    """Open tasks ranked for the calling provider, best first."""
    return Call(api.LIST_RECOMMENDATIONS, json_as(list[Recommendation]), query={"limit": limit})


def get_provider(provider_id: Id) -> Call[Provider]:
    """A provider's qualification and standing."""
    params = {"provider_id": provider_id}
    return Call(api.GET_PROVIDER, json_as(Provider), path_params=params)


def verify_provider(provider_id: Id) -> Call[Provider]:
    """An admin accepts the provider's pending qualification."""
    params = {"provider_id": provider_id}
    return Call(api.VERIFY_PROVIDER, json_as(Provider), path_params=params)


def reject_provider(provider_id: Id, reason: str) -> Call[Provider]:
    """An admin refuses the provider's pending qualification."""
    return Call(
        api.REJECT_PROVIDER,
        json_as(Provider),
        path_params={"provider_id": provider_id},
        json=ReasonRequest(reason=reason),
    )


# -- disputes ------------------------------------------------------------------------------


def open_dispute(
    order_id: Id,
    reason: str,
    *,
    category: Literal["quality", "not_delivered", "unfair_rejection", "fraud", "other"] = "other",
) -> Call[Created]:
    """A party of the order opens a dispute about it."""
    return Call(
        api.OPEN_DISPUTE,
        json_as(Created),
        path_params={"order_id": order_id},
        json=DisputeRequest(reason=reason, category=category),
    )


def get_dispute(dispute_id: Id) -> Call[Dispute]:
    """A dispute with both parties' evidence (its parties)."""
    return Call(api.GET_DISPUTE, json_as(Dispute), path_params={"dispute_id": dispute_id})


def list_my_disputes(
    *, status: str | None = None, cursor: str | None = None, limit: int = 20
) -> Call[Page[Dispute]]:
    """One page of the disputes of the caller's orders, oldest first."""
    query = {"status": status, "cursor": cursor, "limit": limit}
    return Call(api.LIST_MY_DISPUTES, json_as(Page[Dispute]), query=query)


def respond_to_dispute(dispute_id: Id, statement: str) -> Call[Dispute]:
    """The other party answers the complaint."""
    return Call(
        api.RESPOND_TO_DISPUTE,
        json_as(Dispute),
        path_params={"dispute_id": dispute_id},
        json=StatementRequest(statement=statement),
    )


def resolve_dispute(
    dispute_id: Id,
    outcome: Literal["release", "refund", "split"],
    *,
    provider_share_percent: int | None = None,
) -> Call[Dispute]:
    """An admin decides the dispute; the ledger executes the outcome."""
    body = ResolutionRequest(outcome=outcome, provider_share_percent=provider_share_percent)
    return Call(
        api.RESOLVE_DISPUTE,
        json_as(Dispute),
        path_params={"dispute_id": dispute_id},
        json=body,
    )


def add_evidence(
    dispute_id: Id, statement: str, *, sha256: str | None = None, file: Upload | None = None
) -> Call[Dispute]:
    """A party adds a statement, naming a file already in the case by ``sha256`` or uploading
    one ``file``."""
    params = {"dispute_id": dispute_id}
    if file is not None:
        return Call(
            api.ADD_EVIDENCE,
            json_as(Dispute),
            path_params=params,
            files=[("file", file)],
            form={"statement": statement},
        )
    body = AddEvidenceBody(statement=statement, sha256=sha256)
    return Call(api.ADD_EVIDENCE, json_as(Dispute), path_params=params, json=body)


def get_evidence_file(dispute_id: Id, sha256: str) -> Call[bytes]:
    """Download one evidence file of the dispute."""
    params = {"dispute_id": dispute_id, "sha256": sha256}
    return Call(api.GET_EVIDENCE_FILE, content, path_params=params)


def request_arbitration(dispute_id: Id) -> Call[Dispute]:
    """A party asks the platform to decide."""
    params = {"dispute_id": dispute_id}
    return Call(api.REQUEST_ARBITRATION, json_as(Dispute), path_params=params)


def withdraw_dispute(dispute_id: Id) -> Call[Dispute]:
    """The party that opened the dispute withdraws it."""
    params = {"dispute_id": dispute_id}
    return Call(api.WITHDRAW_DISPUTE, json_as(Dispute), path_params=params)


def list_disputes(
    *,
    status: str | None = None,
    overdue: bool | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> Call[Page[Dispute]]:
    """One page of the admins' arbitration queue, oldest first."""
    query = {"status": status, "overdue": overdue, "cursor": cursor, "limit": limit}
    return Call(api.LIST_DISPUTES, json_as(Page[Dispute]), query=query)


def get_dispute_as_admin(dispute_id: Id) -> Call[Dispute]:
    """Any dispute, for an admin."""
    params = {"dispute_id": dispute_id}
    return Call(api.GET_DISPUTE_AS_ADMIN, json_as(Dispute), path_params=params)


# -- analytics and audit -------------------------------------------------------------------


def my_analytics(*, currency: str = "CNY") -> Call[dict[str, Any]]:
    """The caller's figures: wallet, tasks and orders by status, commission (Party A) or
    performance record (Party B)."""
    return Call(api.GET_MY_ANALYTICS, json_as(dict[str, Any]), query={"currency": currency})


def analytics() -> Call[dict[str, Any]]:
    """The platform's figures, for an admin: tasks and orders by status, money per currency."""
    return Call(api.GET_ANALYTICS, json_as(dict[str, Any]))


def audit_trail(aggregate_id: Id) -> Call[dict[str, Any]]:
    """The full event history of any aggregate, for an admin."""
    params = {"aggregate_id": aggregate_id}
    return Call(api.GET_AUDIT_TRAIL, json_as(dict[str, Any]), path_params=params)


# -- webhooks ------------------------------------------------------------------------------


def create_webhook(
    url: str, *, event_types: list[str] | None = None, description: str = ""
) -> Call[WebhookCreated]:
    """Register an endpoint for the caller's events (all types when ``event_types`` is None);
    the answer holds the signing ``secret``, shown only this once."""
    body = WebhookCreate(url=url, event_types=event_types, description=description)
    return Call(api.CREATE_WEBHOOK, json_as(WebhookCreated), json=body)


def list_webhooks(*, cursor: str | None = None, limit: int = 20) -> Call[WebhookPage]:
    """One page of the caller's endpoints (``iter_webhooks``: every page)."""
    return Call(api.LIST_WEBHOOKS, json_as(WebhookPage), query={"cursor": cursor, "limit": limit})


def get_webhook(webhook_id: Id) -> Call[Webhook]:
    """One endpoint of the caller."""
    return Call(api.GET_WEBHOOK, json_as(Webhook), path_params={"webhook_id": webhook_id})


def update_webhook(
    webhook_id: Id,
    *,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> Call[Webhook]:
    """Change what is given (``enabled=True`` re-enables an endpoint disabled for failing)."""
    body = WebhookUpdate(url=url, event_types=event_types, description=description, enabled=enabled)
    return Call(
        api.UPDATE_WEBHOOK, json_as(Webhook), path_params={"webhook_id": webhook_id}, json=body
    )


def delete_webhook(webhook_id: Id) -> Call[WebhookDeleted]:
    """Stop deliveries to the endpoint and forget it."""
    params = {"webhook_id": webhook_id}
    return Call(api.DELETE_WEBHOOK, json_as(WebhookDeleted), path_params=params)


def rotate_webhook_secret(webhook_id: Id, *, overlap_seconds: int = 86_400) -> Call[RotatedSecret]:
    """A new signing secret; the old one keeps signing too for ``overlap_seconds``."""
    return Call(
        api.ROTATE_WEBHOOK_SECRET,
        json_as(RotatedSecret),
        path_params={"webhook_id": webhook_id},
        json=SecretRotation(overlap_seconds=overlap_seconds),
    )


def list_webhook_deliveries(
    webhook_id: Id, *, cursor: str | None = None, limit: int = 20
) -> Call[DeliveryPage]:
    """One page of the endpoint's delivery log with status codes and latencies."""
    return Call(
        api.LIST_WEBHOOK_DELIVERIES,
        json_as(DeliveryPage),
        path_params={"webhook_id": webhook_id},
        query={"cursor": cursor, "limit": limit},
    )


def redeliver_webhook(webhook_id: Id, delivery_id: Id) -> Call[RedeliveryScheduled]:
    """Send a delivery again."""
    params = {"webhook_id": webhook_id, "delivery_id": delivery_id}
    return Call(api.REDELIVER_WEBHOOK, json_as(RedeliveryScheduled), path_params=params)
