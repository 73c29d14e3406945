"""Verified owners in the schema: the register of an estate, its import, and the
claims that make residents verified owners."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from models import Estate as EstateModel
from models import Household as HouseholdModel
from models import Person as PersonModel
from models import PropertyOwnership as PropertyOwnershipModel
from models import PropertyRecord as PropertyRecordModel
from models import StoredFile as StoredFileModel
from models.enums import Role
from permissions.errors import NotFound
from permissions.rules import SIGNED_IN, STAFF, VISIBLE, HasRole
from permissions.scope import visible
from resolvers import property as rules
from resolvers.base import Invalid, UserError
from resolvers.estates import estate_in_reach
from resolvers.loaders import columns
from resolvers.pagination import paginate
from schema.base import (
    AppInfo,
    Connection,
    Node,
    UserErrorType,
    decode_id,
    failed,
    field,
    payload,
    rows,
    structural,
)
from schema.imports import ImportRun
from schema.node import register_node
from schema.org import Estate, Household
from schema.relations import related

if TYPE_CHECKING:
    from schema.person import Person

__all__ = ["PropertyMutation", "PropertyQuery"]


@strawberry.type(
    description="One line of an estate's real-estate register: a certificate and "
    "one of its owners (the ID number only masked). Staff over the estate only."
)
class PropertyRecord(Node):
    certificate_number: str = field(VISIBLE, "The certificate (不动产权证) number.")
    dwelling: str = field(VISIBLE, "The dwelling as the register names it.")
    owner_name: str = field(VISIBLE, "The owner's name.")
    id_masked: str = field(VISIBLE, "The owner's ID number, masked.")
    created_at: datetime = field(VISIBLE, "When it was first imported.")
    updated_at: datetime = field(VISIBLE, "When an import last changed it.")
    ended_at: datetime | None = field(
        VISIBLE,
        "When an import of the whole register no longer listed it; an ended line "
        "proves nothing in a claim.",
    )

    estate: Estate | None = related(
        VISIBLE, "The estate.", EstateModel, source="estate_id", many=False
    )
    household: Household | None = related(
        VISIBLE,
        "The household of the dwelling, when one matched.",
        HouseholdModel,
        source="household_id",
        many=False,
    )


@strawberry.type(description="A verified owner: a person proved owner of a property.")
class PropertyOwnership(Node):
    certificate_number: str = field(VISIBLE, "The certificate proved.")
    verified_at: datetime = field(VISIBLE, "When the claim matched the register.")
    ended_at: datetime | None = field(VISIBLE, "When it ended, if it did.")

    estate: Estate | None = related(
        VISIBLE, "The estate.", EstateModel, source="estate_id", many=False
    )
    household: Household | None = related(
        VISIBLE,
        "The household, if the caller may see it.",
        HouseholdModel,
        source="household_id",
        many=False,
    )
    person: Annotated[Person, strawberry.lazy("schema.person")] | None = related(
        VISIBLE,
        "The owner, if the caller may see them.",
        PersonModel,
        source="person_id",
        many=False,
    )


register_node("PropertyRecord", PropertyRecordModel)
register_node("PropertyOwnership", PropertyOwnershipModel)


@strawberry.type
class PropertyQuery:
    @field(STAFF, "The register of an estate the caller is staff over.")
    async def property_records(
        self,
        info: AppInfo,
        estate_id: strawberry.ID,
        search: str | None = None,
        include_ended: bool = False,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[PropertyRecord]:
        estate = await estate_in_reach(info.context, decode_id(estate_id, "Estate")[1])
        queryset = visible(PropertyRecordModel, info.context.caller).filter(
            estate_id=estate.id
        )
        if not include_ended:
            queryset = queryset.filter(ended_at__isnull=True)
        if search:
            queryset = queryset.filter(
                certificate_number__icontains=rules.normalize_certificate(search)
            )
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]

    @field(STAFF, "The verified owners of an estate the caller is staff over.")
    async def property_ownerships(
        self,
        info: AppInfo,
        estate_id: strawberry.ID,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[PropertyOwnership]:
        estate = await estate_in_reach(info.context, decode_id(estate_id, "Estate")[1])
        queryset = visible(PropertyOwnershipModel, info.context.caller).filter(
            estate_id=estate.id
        )
        page: Any = await paginate(queryset, first, after)
        return page  # type: ignore[no-any-return]

    @field(SIGNED_IN, "The caller's own verified ownerships.")
    async def my_property_ownerships(self, info: AppInfo) -> list[PropertyOwnership]:
        person_id = info.context.caller.person_id
        if person_id is None:
            return []
        found = (
            await visible(PropertyOwnershipModel, info.context.caller)
            .filter(person_id=person_id, ended_at__isnull=True)
            .order_by("id")
            .values(*columns(PropertyOwnershipModel))
        )
        return rows(PropertyOwnership, found)


@structural
@strawberry.type
class PropertyRegisterImportPayload:
    errors: list[UserErrorType]
    import_run: ImportRun | None


@structural
@strawberry.type
class PropertyClaimPayload:
    errors: list[UserErrorType]
    ownership: PropertyOwnership | None


@strawberry.type
class PropertyMutation:
    @field(
        STAFF,
        "Import an estate's register from an uploaded CSV or XLSX file (columns "
        "不动产权证号, 房号, 权利人, 身份证号); importing the same file again "
        "changes nothing. With wholeRegister the file is the estate's whole "
        "register: lines it no longer lists are ended with the ownerships they "
        "proved (counted ENDED), unless a line of the file was refused (then they "
        "are kept, counted KEPT). Staff over the estate.",
    )
    async def property_register_import(
        self,
        info: AppInfo,
        estate_id: strawberry.ID,
        file_id: strawberry.ID,
        whole_register: bool = False,
    ) -> PropertyRegisterImportPayload:
        context = info.context
        _, estate_pk = decode_id(estate_id, "Estate")
        _, file_pk = decode_id(file_id, "StoredFile")
        stored = await visible(StoredFileModel, context.caller).get_or_none(id=file_pk)
        if stored is None:
            raise NotFound("No StoredFile has this id.")
        data = await context.store.get(stored.sha256)
        try:
            if data is None:
                raise Invalid(
                    [UserError("fileId", "The file's content is gone.", "FILE_GONE")]
                )
            run = await rules.import_register(
                context, estate_pk, stored.filename, data, whole_register
            )
        except Invalid as invalid:
            return failed(invalid, "import_run")  # type: ignore[no-any-return]
        return payload(import_run=run)  # type: ignore[no-any-return]

    @field(
        HasRole(Role.RESIDENT),
        "Prove ownership with the certificate number and your ID number; a match "
        "makes you a verified owner of the property. Failed claims are limited.",
    )
    async def property_claim(
        self, info: AppInfo, certificate_number: str, id_number: str
    ) -> PropertyClaimPayload:
        try:
            row = await rules.claim_ownership(
                info.context, certificate_number, id_number
            )
        except Invalid as invalid:
            return failed(invalid, "ownership")  # type: ignore[no-any-return]
        return payload(ownership=row)  # type: ignore[no-any-return]
