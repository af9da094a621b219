"""Bulk writes (etl.store): every engine stores exactly the frame it is given."""
from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from etl.database import init_db, make_engine
from etl.store import bulk_insert
from schemas.aggregates import AggEnterpriseSpan


def test_a_nullable_number_column_missing_on_its_first_row_is_stored_as_given(db_url: str) -> None:
    engine = make_engine(db_url)
    init_db(engine)
    frame = pd.DataFrame({
        "enterprise_id": [1, 2, 3], "report_id": [7, 7, 7], "street_code": ["310105002"] * 3,
        "building_id": pd.array([None, 5, 5], dtype="Int64"), "is_shop": [False, False, True],
        "day_from": [date(2020, 2, 10)] * 3, "day_to": [None, date(2020, 2, 12), None],
    })
    with Session(engine) as session, session.begin():
        bulk_insert(session, AggEnterpriseSpan.__table__, frame)
    with Session(engine) as session:
        rows = session.execute(select(AggEnterpriseSpan.enterprise_id, AggEnterpriseSpan.building_id,
                                      AggEnterpriseSpan.report_id, AggEnterpriseSpan.day_to)
                               .order_by(AggEnterpriseSpan.enterprise_id)).all()
    assert [tuple(r) for r in rows] == [(1, None, 7, None), (2, 5, 7, date(2020, 2, 12)), (3, 5, 7, None)]
    engine.dispose()
