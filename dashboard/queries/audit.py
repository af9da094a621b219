"""审计日志 page queries: who may read the audit trail, and its entries cut to the reader's scope.

An admin reads every entry.  A district leader reads the entries whose division lies within their
district: exports, views of personal data, follow-ups and confirmations there, the changes to their
streets' users, and the logins and logouts of their district's users (a login is recorded with the
user's scope).  Entries of no division (failed logins: the name tried may be anyone's; loads from the
command line) and those of the whole city are the admins' alone.  Nobody else reads it.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from dashboard.auth import Account
from etl.audit import as_json, detail_line, entries
from etl.divisions import DivisionTree

READERS = ("admin", "district")
ENTRIES_SHOWN = 5000
"""The newest entries the page holds; older ones are read with `onenet audit`."""


def reads_audit(account: Account | None) -> bool:
    return account is not None and account.role in READERS


def audit_scopes(account: Account, divs: DivisionTree, code: str) -> set[str] | None:
    """The division codes whose entries ``account`` sees at unit ``code`` (already cut to their scope by
    dashboard.context): None for everything (an admin at the city), nothing for a non-reader."""
    if not reads_audit(account):
        return set()
    if account.role == "admin" and divs.level.get(code, "city") == "city":
        return None
    return {code, *divs.streets_under(code)}


def audit_entries(session: Session, account: Account, divs: DivisionTree, code: str,
                  limit: int = ENTRIES_SHOWN) -> list[dict[str, Any]]:
    """The newest entries ``account`` may read at unit ``code``, as the page's grid shows them."""
    scopes = audit_scopes(account, divs, code)
    if scopes is not None and not scopes:
        return []
    out = []
    for e in entries(session, scopes=scopes, limit=limit):
        row = as_json(e)
        out.append({**row, "scope": divs.display(row["scope_code"]) if row["scope_code"] else "",
                    "personal_label": "是" if row["personal"] else "", "detail_text": detail_line(row["detail"], 300)})
    return out
