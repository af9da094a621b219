"""The Chinese words the product shows for its codes: one vocabulary for the dashboard, exports and forms.

Data only (this module imports nothing of the project); the names of the figures themselves live
with the figures (etl.figures.LABELS), the names of the source kinds on the kinds (schemas.sources).
"""
from __future__ import annotations

LEVEL_LABELS = {"city": "市", "district": "区", "street": "街道", "community": "居委"}
FOLLOW_UP_LABELS = {"called": "已致电", "promised": "已承诺填报", "refused": "拒绝配合", "resolved": "已解决"}
"""What came of calling a silent building's owner (follow_up.status)."""
BATCH_STATUS_LABELS = {"loaded": "已导入", "failed": "失败", "loading": "导入中", "unchanged": "未变化"}
SEVERITY_LABELS = {"error": "退回", "warning": "警告"}
"""A reject's severity: the row was not loaded, or it loaded with an optional value left empty."""
ENTERPRISE_STATES = {"reopened": "已复工", "reported": "已填报未复工", "silent": "未填报"}
"""An enterprise on a day: reopened, reported without reopening, or not reported."""
UNPLACED = "未登记楼宇"
"""Where the missing lists put silent enterprises that no registered building holds (one group per street)."""
