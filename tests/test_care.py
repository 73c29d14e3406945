"""The beneficiary archive: imports of each department's layout, ID numbers,
merging across sources, tag validity, review, the warnings and their cures."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from models import (
    AuditRecord,
    Beneficiary,
    BeneficiaryTag,
    ImportRowReport,
    OrgUnit,
    RoleAssignment,
    Visit,
    VisitOrder,
    Warning,
)
from models.enums import (
    BeneficiarySource,
    BeneficiaryStatus,
    BeneficiaryTagKind,
    Level,
    Role,
    TagReview,
    TagStatus,
    VisitKind,
    VisitOrderStatus,
    VisitStatus,
    WarningKind,
)
from permissions.errors import Forbidden, NotFound
from permissions.scope import visible
from resolvers import care, visit
from resolvers.base import Invalid
from resolvers.care_layouts import LAYOUTS
from resolvers.identity import caller_for_person
from resolvers.idnumber import id_fingerprint
from resolvers.jobs import run_job
from tests.care_support import (
    CHEN,
    HOME,
    HUANG,
    LIN,
    WANG,
    WU,
    ZHENG,
    ZHOU,
    Clock,
    context_of,
    import_bytes,
    import_sample,
    sample,
    system_context,
)
from tests.world import World, add_person, grant

Source = BeneficiarySource
Kind = BeneficiaryTagKind

# Outcomes of each sample file imported alone into the district.
EXPECTED = {
    Source.ZHELIJIU: {"TAKEN": 4, "REFUSED": 2, "UNCHANGED": 1},
    Source.CIVIL_AFFAIRS: {"TAKEN": 2, "REFUSED": 2},
    Source.HOUSING: {"TAKEN": 2, "REFUSED": 1},
    Source.DISABLED_FEDERATION: {"TAKEN": 2, "REFUSED": 1},
}
REFUSALS = {
    Source.ZHELIJIU: {6: "ID_NUMBER_CHECK_DIGIT", 8: "TAG_UNKNOWN"},
    Source.CIVIL_AFFAIRS: {4: "COMMUNITY_UNKNOWN", 5: "DATE_INVALID"},
    Source.HOUSING: {4: "ID_NUMBER_FORMAT"},
    Source.DISABLED_FEDERATION: {4: "GRADE_UNKNOWN"},
}


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def official(world: World, settings: Any, clock: Clock) -> Any:
    return await context_of(world, settings, "official_district", clock)


async def reports(run: dict[str, Any]) -> dict[int, tuple[str, str]]:
    rows = await ImportRowReport.filter(run_id=run["id"]).values(
        "row_number", "outcome", "code"
    )
    return {r["row_number"]: (str(r["outcome"]), r["code"]) for r in rows}


async def by_name(name: str) -> Beneficiary:
    return await Beneficiary.get(name=name)


async def tags_of(name: str) -> dict[tuple[str, str], BeneficiaryTag]:
    found = await by_name(name)
    tags = await BeneficiaryTag.filter(beneficiary_id=found.id)
    return {(str(t.kind), str(t.source)): t for t in tags}


async def snapshot() -> list[Any]:
    people = await Beneficiary.all().order_by("id").values()
    tags = await BeneficiaryTag.all().order_by("id").values()
    return [people, tags]


# -- imports ----------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
@pytest.mark.parametrize("source", list(EXPECTED))
async def test_each_layout_imports_good_rows_and_refuses_bad_ones_with_reasons(
    world: World, settings: Any, clock: Clock, source: Source, suffix: str
) -> None:
    context = await official(world, settings, clock)

    run, _ = await import_sample(context, world.units["district"], source, suffix)

    assert run["status"] == "DONE"
    assert run["counts"] == EXPECTED[source]
    assert run["done_rows"] == run["total_rows"] == sum(EXPECTED[source].values())
    found = await reports(run)
    for row_number, code in REFUSALS[source].items():
        assert found[row_number] == ("REFUSED", code)


async def test_a_row_repeated_in_the_file_is_reported_once_taken(
    world: World, settings: Any, clock: Clock
) -> None:
    context = await official(world, settings, clock)

    run, _ = await import_sample(context, world.units["district"], Source.ZHELIJIU)

    assert (await reports(run))[7] == ("UNCHANGED", "DUPLICATE_IN_FILE")
    assert await Beneficiary.filter(name=WANG).count() == 1


async def test_reimporting_the_same_files_changes_nothing(
    world: World, settings: Any, clock: Clock
) -> None:
    context = await official(world, settings, clock)
    district = world.units["district"]
    for source in EXPECTED:
        await import_sample(context, district, source)
    before = await snapshot()

    for source in EXPECTED:
        run, unlisted = await import_sample(context, district, source, "xlsx")
        assert set(run["counts"]) <= {"UNCHANGED", "REFUSED"}, run["counts"]
        assert unlisted == 0

    assert await snapshot() == before


async def test_the_same_person_from_four_sources_is_one_beneficiary(
    world: World, settings: Any, clock: Clock
) -> None:
    context = await official(world, settings, clock)
    district = world.units["district"]
    await import_sample(context, district, Source.ZHELIJIU)

    civil, _ = await import_sample(context, district, Source.CIVIL_AFFAIRS)
    housing, _ = await import_sample(context, district, Source.HOUSING)
    disabled, _ = await import_sample(context, district, Source.DISABLED_FEDERATION)

    # 王秀英 (row 2 of 民政), 陈建国 (row 2 of 住建), 周美华 (row 2 of 残联)
    assert (await reports(civil))[2] == ("MERGED", "MERGED_SOURCES")
    assert (await reports(housing))[2] == ("MERGED", "MERGED_SOURCES")
    assert (await reports(disabled))[2] == ("MERGED", "MERGED_SOURCES")
    assert await Beneficiary.filter(name__in=[WANG, CHEN, ZHOU]).count() == 3
    assert set(await tags_of(WANG)) == {
        ("EXTREME_POVERTY", "ZHELIJIU"),
        ("ELDERLY_ALONE", "CIVIL_AFFAIRS"),
    }
    assert set(await tags_of(CHEN)) == {
        ("LOW_INCOME", "ZHELIJIU"),
        ("HOUSING_SUBSIDY", "HOUSING"),
    }
    disability = (await tags_of(ZHOU))[("DISABILITY", "DISABLED_FEDERATION")]
    assert (disability.grade, disability.detail) == ("2", "肢体")
    # The elderly living alone are visited weekly: the shortest interval wins.
    assert (await by_name(WANG)).interval_days == 7


async def test_a_beneficiary_is_linked_to_the_person_and_household_with_the_id(
    world: World, settings: Any, clock: Clock
) -> None:
    context = await official(world, settings, clock)

    await import_sample(context, world.units["district"], Source.ZHELIJIU)

    zhou = await by_name(ZHOU)
    assert zhou.person_id == world.people["resident_a1"].id
    assert zhou.household_id == world.households["a1"].id
    assert (await by_name(WANG)).person_id is None


async def test_id_numbers_are_matched_by_fingerprint_and_kept_only_in_their_field(
    world: World, settings: Any, clock: Clock
) -> None:
    context = await official(world, settings, clock)

    await import_sample(context, world.units["district"], Source.DISABLED_FEDERATION)

    zhou = await by_name(ZHOU)
    # The disability card number is the ID number and two digits more.
    assert zhou.id_number == "330304196005010028"
    assert zhou.id_fingerprint == id_fingerprint(zhou.id_number, settings.id_key)
    assert zhou.id_number not in zhou.id_fingerprint
    assert (zhou.birth_date, zhou.gender) == (date(1960, 5, 1), "F")


def test_a_row_is_refused_for_each_fault_of_its_id_number() -> None:
    layout = LAYOUTS[Source.HOUSING]
    today = date(2026, 3, 1)

    def refusal(number: str) -> str:
        values = {"户主姓名": "某人", "身份证号": number, "所在社区": "甲一社区"}
        with pytest.raises(care.RowRefused) as refused:
            care.parse_record(layout, values, today)
        return refused.value.code

    assert refusal("") == "ID_NUMBER_MISSING"
    assert refusal("33030419600501002") == "ID_NUMBER_FORMAT"
    assert refusal("330304196013010028") == "ID_NUMBER_DATE"
    assert refusal("330304196005010029") == "ID_NUMBER_CHECK_DIGIT"
    # A lower-case x and spaces are read as the same number.
    values = {
        "户主姓名": "某人",
        "身份证号": " 330304196005010028 ",
        "所在社区": "甲一社区",
    }
    assert care.parse_record(layout, values, today).number == "330304196005010028"


async def test_an_official_imports_only_under_their_own_unit(
    world: World, settings: Any, clock: Clock
) -> None:
    official_a = await context_of(world, settings, "official_a", clock)
    cadre = await context_of(world, settings, "cadre_a1", clock)

    with pytest.raises(Forbidden):
        await import_sample(cadre, world.units["A1"], Source.ZHELIJIU)
    with pytest.raises(Forbidden):
        await import_sample(official_a, world.units["B"], Source.ZHELIJIU)
    run, _ = await import_sample(
        official_a, world.units["A"], Source.DISABLED_FEDERATION
    )

    # 郑志强 lives in 乙一社区, outside 甲街道: refused, not created there.
    assert run["counts"] == {"TAKEN": 1, "REFUSED": 2}
    assert not await Beneficiary.filter(name=ZHENG).exists()


async def test_a_file_without_the_needed_columns_changes_nothing(
    world: World, settings: Any, clock: Clock
) -> None:
    context = await official(world, settings, clock)

    with pytest.raises(Invalid) as refused:
        await import_bytes(
            context, world.units["district"], Source.ZHELIJIU, "姓名,身份证\n某,1\n"
        )

    assert refused.value.errors[0].code == "MISSING_COLUMNS"
    assert not await Beneficiary.exists()


# -- tag validity and review ------------------------------------------------------


async def test_a_tag_past_its_validity_is_flagged_for_review_not_dropped(
    world: World, settings: Any, clock: Clock
) -> None:
    context = await official(world, settings, clock)
    await import_sample(context, world.units["district"], Source.ZHELIJIU)
    await import_sample(context, world.units["district"], Source.HOUSING)

    # 吴丽娟's rent subsidy ended on 2025-12-31: taken, but under review.
    wu = (await tags_of(WU))[("HOUSING_SUBSIDY", "HOUSING")]
    assert (wu.status, wu.review) == (TagStatus.REVIEW, TagReview.LAPSED)
    chen = (await tags_of(CHEN))[("LOW_INCOME", "ZHELIJIU")]
    assert chen.status == TagStatus.ACTIVE

    # 陈建国's 低保 runs to 2026-12-31; on 2 January the job flags it.
    clock.now += timedelta(days=307)
    counts = await care.raise_care_warnings(system_context(world, settings, clock))

    assert counts["lapsed_tags"] == 1
    chen = (await tags_of(CHEN))[("LOW_INCOME", "ZHELIJIU")]
    assert (chen.status, chen.review) == (TagStatus.REVIEW, TagReview.LAPSED)


async def test_a_person_the_source_no_longer_lists_is_flagged_then_relisted(
    world: World, settings: Any, clock: Clock
) -> None:
    context = await official(world, settings, clock)
    district = world.units["district"]
    await import_sample(context, district, Source.ZHELIJIU)
    rows = _zhelijiu_without(CHEN)

    run, unlisted = await import_bytes(context, district, Source.ZHELIJIU, rows)

    assert run["status"] == "DONE" and unlisted == 1
    tag = (await tags_of(CHEN))[("LOW_INCOME", "ZHELIJIU")]
    assert (tag.status, tag.review) == (TagStatus.REVIEW, TagReview.NOT_LISTED)
    assert await Beneficiary.filter(name=CHEN).exists()

    run, unlisted = await import_sample(context, district, Source.ZHELIJIU)
    assert run["counts"]["MERGED"] == 1 and unlisted == 0
    tag = (await tags_of(CHEN))[("LOW_INCOME", "ZHELIJIU")]
    assert (tag.status, tag.review) == (TagStatus.ACTIVE, None)


def _zhelijiu_text() -> str:
    return sample(Source.ZHELIJIU)[1].decode("utf-8-sig")


def _zhelijiu_without(name: str) -> str:
    lines = _zhelijiu_text().splitlines()
    return "\n".join(line for line in lines if f",{name}," not in line) + "\n"


async def test_reviewing_a_tag_keeps_or_ends_it(
    world: World, settings: Any, clock: Clock
) -> None:
    context = await official(world, settings, clock)
    await import_sample(context, world.units["district"], Source.HOUSING)
    tag = (await tags_of(WU))[("HOUSING_SUBSIDY", "HOUSING")]
    cadre = await context_of(world, settings, "cadre_a1", clock)

    with pytest.raises(Invalid) as refused:
        await care.review_tag(cadre, tag.id, True, date(2025, 1, 1), None)
    assert refused.value.errors[0].code == "ENDS_IN_PAST"
    with pytest.raises(Invalid) as still_lapsed:
        await care.review_tag(cadre, tag.id, True, None, None)
    assert still_lapsed.value.errors[0].code == "ENDS_IN_PAST"
    kept = await care.review_tag(cadre, tag.id, True, date(2026, 12, 31), None)
    assert (kept["status"], kept["review"]) == (TagStatus.ACTIVE, None)
    # Evidence filed later keeps the end the tag has.
    again = await care.review_tag(cadre, tag.id, True, None, None)
    assert again["ends_on"] == date(2026, 12, 31)
    ended = await care.review_tag(cadre, tag.id, False, None, None)
    assert ended["status"] == TagStatus.ENDED
    with pytest.raises(Invalid):
        await care.review_tag(cadre, tag.id, True, None, None)
    cadre_b = await context_of(world, settings, "cadre_b1", clock)
    with pytest.raises(NotFound):
        await care.review_tag(cadre_b, tag.id, False, None, None)


# -- warnings ---------------------------------------------------------------------


async def open_warnings(kind: WarningKind) -> set[str]:
    ids = await Warning.filter(kind=kind, resolved_at__isnull=True).values_list(
        "subject_id", flat=True
    )
    names = await Beneficiary.filter(id__in=list(ids)).values_list("name", flat=True)
    return set(names)  # type: ignore[arg-type]


async def locate(world: World, settings: Any, clock: Clock, name: str) -> None:
    cadre = await context_of(world, settings, "cadre_a1", clock)
    await care.locate_beneficiary(cadre, (await by_name(name)).id, *HOME)


async def check_in(world: World, settings: Any, clock: Clock, name: str) -> None:
    cadre = await context_of(world, settings, "cadre_a1", clock)
    await visit.check_in(cadre, (await by_name(name)).id, None, *HOME, 10.0)


async def test_new_beneficiaries_raise_a_warning_that_the_first_visit_cures(
    world: World, settings: Any, clock: Clock
) -> None:
    context = await official(world, settings, clock)
    await import_sample(context, world.units["district"], Source.ZHELIJIU)
    system = system_context(world, settings, clock)

    first = await care.raise_care_warnings(system)
    again = await care.raise_care_warnings(system)

    assert first["raised_new_beneficiary"] == 3  # 黄德明 is deceased
    assert again["raised_new_beneficiary"] == 0
    assert await open_warnings(WarningKind.NEW_BENEFICIARY) == {WANG, CHEN, ZHOU}
    await locate(world, settings, clock, WANG)
    await check_in(world, settings, clock, WANG)
    assert await open_warnings(WarningKind.NEW_BENEFICIARY) == {CHEN, ZHOU}


async def test_a_person_not_visited_within_the_interval_is_overdue_until_visited(
    world: World, settings: Any, clock: Clock
) -> None:
    context = await official(world, settings, clock)
    await import_sample(context, world.units["district"], Source.CIVIL_AFFAIRS)
    await locate(world, settings, clock, WANG)
    await check_in(world, settings, clock, WANG)
    system = system_context(world, settings, clock)

    # Weekly for the elderly living alone: not yet overdue after six days.
    clock.advance(days=6)
    await care.raise_care_warnings(system)
    assert WANG not in await open_warnings(WarningKind.VISIT_OVERDUE)
    clock.advance(days=1, minutes=1)
    raised = await care.raise_care_warnings(system)
    twice = await care.raise_care_warnings(system)

    assert WANG in await open_warnings(WarningKind.VISIT_OVERDUE)
    assert raised["raised_visit_overdue"] >= 1
    assert twice["raised_visit_overdue"] == 0
    await check_in(world, settings, clock, WANG)
    assert WANG not in await open_warnings(WarningKind.VISIT_OVERDUE)


async def test_the_interval_follows_the_configuration(
    world: World, settings: Any, clock: Clock
) -> None:
    context = await official(world, settings, clock)
    await import_sample(context, world.units["district"], Source.CIVIL_AFFAIRS)

    await care.set_care_setting(context, "interval.ELDERLY_ALONE", 3)

    wang = await by_name(WANG)
    assert wang.interval_days == 3
    assert wang.visit_due_at == clock.now + timedelta(days=3)
    with pytest.raises(Invalid):
        await care.set_care_setting(context, "interval.ELDERLY_ALONE", 0)
    cadre = await context_of(world, settings, "cadre_a1", clock)
    with pytest.raises(Forbidden):
        await care.set_care_setting(cadre, "interval.ELDERLY_ALONE", 5)


async def test_no_responsible_cadre_or_a_carer_gone_is_unattended_until_cured(
    world: World, settings: Any, clock: Clock
) -> None:
    context = await official(world, settings, clock)
    await import_sample(context, world.units["district"], Source.CIVIL_AFFAIRS)
    system = system_context(world, settings, clock)
    await care.raise_care_warnings(system)
    assert await open_warnings(WarningKind.UNATTENDED) == {WANG, LIN}
    lin = await by_name(LIN)
    assert lin.carer_gone

    wang = await by_name(WANG)
    await care.assign_responsible(context, wang.id, world.people["cadre_a1"].id)
    assert await open_warnings(WarningKind.UNATTENDED) == {LIN}
    # 林小雨 lives in 甲二村, which has no cadre in the world: cadre_a1 is refused.
    with pytest.raises(Invalid) as refused:
        await care.assign_responsible(context, lin.id, world.people["cadre_a1"].id)
    assert refused.value.errors[0].code == "NOT_A_CADRE_HERE"
    # The carer is back, but nobody answers for her yet: still unattended.
    await care.set_carer(context, lin.id, "林国平", "13605770022", False)
    await care.raise_care_warnings(system)
    assert await open_warnings(WarningKind.UNATTENDED) == {LIN}


async def test_a_death_stops_visits_closes_orders_and_raises_subsidies_for_review(
    world: World, settings: Any, clock: Clock
) -> None:
    context = await official(world, settings, clock)
    district = world.units["district"]
    await grant(world.people["cadre_a1"], Role.CADRE, world.units["A2"])
    alive = _zhelijiu_text().replace(",死亡", ",正常")
    await import_bytes(context, district, Source.ZHELIJIU, alive)
    huang = await by_name(HUANG)
    await care.assign_responsible(context, huang.id, world.people["cadre_a1"].id)
    order = await visit.create_order(
        context,
        huang.id,
        world.people["cadre_a1"].id,
        clock.now + timedelta(days=2),
        "",
    )

    run, _ = await import_sample(context, district, Source.ZHELIJIU)
    assert (await reports(run))[5][0] == "MERGED"
    counts = await care.raise_care_warnings(system_context(world, settings, clock))

    huang = await by_name(HUANG)
    assert huang.status == BeneficiaryStatus.DECEASED and huang.visit_due_at is None
    assert (await VisitOrder.get(id=order["id"])).status == VisitOrderStatus.CLOSED
    tag = (await tags_of(HUANG))[("EXTREME_POVERTY", "ZHELIJIU")]
    assert (tag.status, tag.review) == (TagStatus.REVIEW, TagReview.DECEASED)
    assert counts["raised_deceased"] == 1
    assert HUANG in await open_warnings(WarningKind.DECEASED)
    assert HUANG not in await open_warnings(WarningKind.NEW_BENEFICIARY)
    with pytest.raises(Invalid) as refused:
        await visit.check_in(
            await context_of(world, settings, "cadre_a1", clock),
            huang.id,
            None,
            *HOME,
            10.0,
        )
    assert "BENEFICIARY_DECEASED" in {e.code for e in refused.value.errors}

    # Ending the subsidy cures the warning.
    await care.review_tag(context, tag.id, False, None, None)
    assert HUANG not in await open_warnings(WarningKind.DECEASED)


async def test_the_warning_job_runs_under_its_lock_and_is_recorded(
    world: World, settings: Any, clock: Clock
) -> None:
    context = await official(world, settings, clock)
    await import_sample(context, world.units["district"], Source.ZHELIJIU)
    system = system_context(world, settings, clock)

    first = await run_job("care.warnings", system)
    second = await run_job("care.warnings", system)

    assert first["outcome"] == second["outcome"] == "OK"
    assert first["counts"]["raised_new_beneficiary"] == 3
    assert second["counts"]["raised_new_beneficiary"] == 0
    assert await Warning.filter(kind=WarningKind.NEW_BENEFICIARY).count() == 3


# -- export -----------------------------------------------------------------------


async def test_the_export_masks_id_numbers_unless_revealed_and_is_audited(
    world: World, settings: Any, clock: Clock
) -> None:
    context = await official(world, settings, clock)
    await import_sample(context, world.units["district"], Source.ZHELIJIU)
    official_a = await context_of(world, settings, "official_a", clock)
    zhou = await by_name(ZHOU)

    masked = await care.export_beneficiaries(official_a, world.units["A"].id, False)
    clear = await care.export_beneficiaries(official_a, world.units["A"].id, True)

    assert masked["rows"] == clear["rows"] == 4
    assert zhou.id_number not in masked["content"]
    assert "330**************8" in masked["content"]
    assert zhou.id_number in clear["content"]
    reveals = await AuditRecord.filter(action="REVEAL", field="idNumber")
    assert len(reveals) == 1 and zhou.id in reveals[0].subject_ids
    assert await AuditRecord.filter(action="BENEFICIARY_EXPORT").count() == 2
    for key in ("cadre_a1", "admin"):
        other = await context_of(world, settings, key, clock)
        with pytest.raises(Forbidden):
            await care.export_beneficiaries(other, world.units["A"].id, True)
    official_b = await context_of(world, settings, "official_b", clock)
    with pytest.raises(Forbidden):
        await care.export_beneficiaries(official_b, world.units["A"].id, False)


async def test_visits_are_counted_on_the_beneficiary(
    world: World, settings: Any, clock: Clock
) -> None:
    context = await official(world, settings, clock)
    await import_sample(context, world.units["district"], Source.ZHELIJIU)
    await locate(world, settings, clock, CHEN)

    await check_in(world, settings, clock, CHEN)

    chen = await by_name(CHEN)
    assert chen.last_visit_at == clock.now
    assert chen.visit_due_at == clock.now + timedelta(days=30)
    assert await Visit.filter(beneficiary_id=chen.id).count() == 1


# -- demo -------------------------------------------------------------------------


async def test_the_demo_lists_beneficiaries_in_both_pilots_as_the_job_would(
    db: str, settings: Any
) -> None:
    from api.demo import load_demo
    from api.demo_care import REFERENCE
    from models import OrgUnit
    from permissions.caller import Caller, Grant
    from tests.care_support import make_context

    await load_demo("small")

    pilots = await OrgUnit.filter(name__in=["新桥社区", "五社村"]).values("path")
    for pilot in pilots:
        assert await Beneficiary.filter(unit_path__startswith=pilot["path"]).count()
    assert await Visit.exists()
    assert await VisitOrder.filter(status=VisitOrderStatus.OPEN).exists()
    assert await Warning.filter(kind=WarningKind.DECEASED).exists()
    # The warnings the demo raised are those the job finds on its reference date.
    root = await OrgUnit.filter(parent_id__isnull=True).first()
    assert root is not None
    caller = Caller(grants=(Grant(Role.ADMIN, root.id, root.path),))
    counts = await care.raise_care_warnings(
        make_context(settings, caller, Clock(REFERENCE))
    )
    assert {k: v for k, v in counts.items() if v} == {}


async def test_the_archive_filters_by_tag_review_status_and_name(
    world: World, settings: Any, clock: Clock
) -> None:
    context = await official(world, settings, clock)
    await import_sample(context, world.units["district"], Source.ZHELIJIU)
    await import_sample(context, world.units["district"], Source.HOUSING)
    caller = context.caller

    async def names(**filters: Any) -> set[str]:
        query = care.beneficiaries_query(caller, **filters)
        return set(await query.values_list("name", flat=True))

    assert await names(kinds=[Kind.HOUSING_SUBSIDY]) == {CHEN, WU}
    assert await names(needs_review=True) == {HUANG, WU}
    assert HUANG not in await names(needs_review=False)
    assert await names(status=BeneficiaryStatus.DECEASED) == {HUANG}
    assert await names(search="建国") == {CHEN}
    assert await names(unit_path=world.units["A2"].path) == {HUANG}


async def test_a_responsible_cadre_who_has_left_leaves_the_person_unattended(
    world: World, settings: Any, clock: Clock
) -> None:
    context = await official(world, settings, clock)
    await import_sample(context, world.units["district"], Source.CIVIL_AFFAIRS)
    wang = await by_name(WANG)
    await care.assign_responsible(context, wang.id, world.people["cadre_a1"].id)
    system = system_context(world, settings, clock)
    await care.raise_care_warnings(system)
    assert WANG not in await open_warnings(WarningKind.UNATTENDED)

    await RoleAssignment.filter(person_id=world.people["cadre_a1"].id).update(
        ends_at=clock.now - timedelta(minutes=1)
    )
    await care.raise_care_warnings(system)

    assert WANG in await open_warnings(WarningKind.UNATTENDED)
    warning = await Warning.get(kind=WarningKind.UNATTENDED, subject_id=wang.id)
    assert warning.detail == {"reason": "RESPONSIBLE_LEFT"}


async def test_a_grid_worker_sees_their_charges_only_while_on_the_post(
    world: World, settings: Any, clock: Clock
) -> None:
    # Given a grid of WANG's community, and its grid worker named responsible
    # for WANG (who is filed at the community, outside the grid)
    context = await official(world, settings, clock)
    await import_sample(context, world.units["district"], Source.CIVIL_AFFAIRS)
    wang = await by_name(WANG)
    community = await OrgUnit.get(path=wang.unit_path)
    grid = await OrgUnit.create(
        name="一网格",
        code="T-GRID",
        level=Level.GRID,
        parent=community,
        path="pending",
        depth=community.depth + 1,
    )
    grid.path = f"{community.path}{grid.id}/"
    await grid.save(update_fields=["path"])
    worker = await add_person(world, "grid_worker", "网格员", "13700000001")
    await grant(worker, Role.CADRE, grid)
    await care.assign_responsible(context, wang.id, worker.id)

    # and a visit they made to WANG
    made = await Visit.create(
        beneficiary_id=wang.id,
        unit_path=wang.unit_path,
        kind=VisitKind.ROUTINE,
        visitor=worker,
        status=VisitStatus.REPORTED,
        checked_in_at=clock.now,
        latitude=HOME[0],
        longitude=HOME[1],
        accuracy_m=10,
        distance_m=5,
        situation="独居，身体尚可",
    )

    async def sees_wang() -> tuple[bool, bool, bool]:
        caller = await caller_for_person(worker.id, clock())
        person = await visible(Beneficiary, caller).filter(id=wang.id).exists()
        tags = await visible(BeneficiaryTag, caller).filter(beneficiary_id=wang.id)
        visits = await visible(Visit, caller).filter(id=made.id).exists()
        return person, bool(tags), visits

    # Then, on the post, they see WANG, WANG's tags and their visit
    assert await sees_wang() == (True, True, True)

    # When they move to a post in another community, still named for WANG
    await RoleAssignment.filter(person_id=worker.id).update(
        ends_at=clock.now - timedelta(minutes=1)
    )
    await grant(worker, Role.CADRE, world.units["B1"])

    # Then WANG is out of their view, by the person, the tags and the visit
    assert await sees_wang() == (False, False, False)
    assert (await Beneficiary.get(id=wang.id)).responsible_id == worker.id
    # And the jobs treat WANG as unattended: warned, and no order goes to a
    # cadre who could not see it
    system = system_context(world, settings, clock)
    await care.raise_care_warnings(system)
    warning = await Warning.get(kind=WarningKind.UNATTENDED, subject_id=wang.id)
    assert warning.detail == {"reason": "RESPONSIBLE_LEFT"}
    await visit.dispatch_orders(system)
    assert not await VisitOrder.filter(assignee_id=worker.id).exists()
