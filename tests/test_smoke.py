from typing import Any

from tests.conftest import Client

VIEWER = """
{ viewer { isSignedIn grants { role unit { name } } person { name phone idNumber } } }
"""


async def test_a_cadre_signs_in_and_sees_their_record(login: Any) -> None:
    cadre: Client = await login("cadre_a1")
    body = await cadre.query(VIEWER)
    assert "errors" not in body, body
    viewer = body["data"]["viewer"]
    assert viewer["isSignedIn"] is True
    assert viewer["grants"] == [{"role": "CADRE", "unit": {"name": "甲一社区"}}]
    assert viewer["person"]["phone"] == "13900000005"
