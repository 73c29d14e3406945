"""What communities publish, and the public page behind each community code."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import strawberry

from models import OrgUnit as OrgUnitModel
from models import Post as PostModel
from models.enums import DisclosureCategory, PostKind, Role
from permissions.rules import ANYONE, STAFF, VISIBLE, InJurisdiction
from resolvers import content as content_rules
from resolvers.base import Invalid
from resolvers.live import changes_under
from resolvers.loaders import by_id
from schema.base import (
    AppInfo,
    Connection,
    Node,
    UserErrorType,
    as_row,
    decode_id,
    encode_id,
    failed,
    field,
    one,
    payload,
    structural,
)
from schema.node import register_node
from schema.org import OrgUnit, _unit_path
from schema.relations import related

PostKindType = strawberry.enum(
    PostKind, description="Disclosure (三务公开), notice (通知公告) or news (新闻)."
)
DisclosureCategoryType = strawberry.enum(
    DisclosureCategory,
    description="Party (党务), village (村务) or financial (财务) affairs.",
)
# Who withdrew a post, and when, is for the staff over it.
STAFF_OVER = InJurisdiction(Role.ADMIN, Role.OFFICIAL, Role.CADRE)


@strawberry.type(description="An item of a community's public page.")
class Post(Node):
    kind: PostKindType = field(VISIBLE, "What it is.")  # type: ignore[valid-type]
    category: DisclosureCategoryType | None = field(  # type: ignore[valid-type]
        VISIBLE, "For a disclosure: which affairs."
    )
    title: str = field(VISIBLE, "The headline.")
    body: str = field(VISIBLE, "The text, plain, paragraphs separated by new lines.")
    published_at: datetime = field(VISIBLE, "When it was published.")
    withdrawn_at: datetime | None = field(
        STAFF_OVER, "When it was withdrawn; null while it is published."
    )

    community: OrgUnit | None = related(
        VISIBLE,
        "The community that published it.",
        OrgUnitModel,
        source="unit_id",
        many=False,
    )


register_node("Post", PostModel)


@structural
@strawberry.type(description="A community's public page: what its code opens.")
class CommunityPage:
    community: OrgUnit
    page_path: str = strawberry.field(description="The page's path, e.g. /c/3303….")
    qr_png_path: str = strawberry.field(description="The QR code as PNG.")
    qr_svg_path: str = strawberry.field(description="The QR code as SVG.")
    poster_path: str = strawberry.field(description="The printable A4 poster.")
    viewer_is_resident: bool = strawberry.field(
        description="Whether the caller is a household member of this community."
    )

    @strawberry.field(description="Published posts of the community, newest first.")
    async def posts(
        self,
        info: AppInfo,
        kind: PostKindType | None = None,  # type: ignore[valid-type]
        category: DisclosureCategoryType | None = None,  # type: ignore[valid-type]
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Post]:
        queryset = content_rules.posts_query(
            info.context.caller,
            as_row(self)["community"]["path"],
            PostKind(kind) if kind else None,
            DisclosureCategory(category) if category else None,
        )
        page: Any = await content_rules.newest_first(queryset, first, after)
        return page  # type: ignore[no-any-return]


def community_paths(code: str) -> dict[str, str]:
    base = f"/c/{code}"
    return {
        "page_path": base,
        "qr_png_path": f"{base}/qr.png",
        "qr_svg_path": f"{base}/qr.svg",
        "poster_path": f"{base}/poster",
    }


@strawberry.type
class ContentQuery:
    @field(ANYONE, "The public page of a community, by its code (一村一码).")
    async def community_page(self, info: AppInfo, code: str) -> CommunityPage:
        unit = await content_rules.community_by_code(info.context.caller, code)
        row = await by_id(info.context, OrgUnitModel).load(unit.id)
        resident = await content_rules.is_resident_of(
            info.context.caller, info.context, unit.path
        )
        return {  # type: ignore[return-value]
            "community": row,
            "viewer_is_resident": resident,
            **community_paths(unit.code),
        }

    @field(ANYONE, "Posts under a unit, newest first; withdrawn ones to staff.")
    async def posts(
        self,
        info: AppInfo,
        unit_id: strawberry.ID | None = None,
        kind: PostKindType | None = None,  # type: ignore[valid-type]
        category: DisclosureCategoryType | None = None,  # type: ignore[valid-type]
        include_withdrawn: bool = False,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Post]:
        path = await _unit_path(info, unit_id)
        queryset = content_rules.posts_query(
            info.context.caller,
            path,
            PostKind(kind) if kind else None,
            DisclosureCategory(category) if category else None,
            include_withdrawn,
        )
        page: Any = await content_rules.newest_first(queryset, first, after)
        return page  # type: ignore[no-any-return]


@strawberry.input(description="A post to publish on a community's public page.")
class PostPublishInput:
    community_id: strawberry.ID
    kind: PostKindType  # type: ignore[valid-type]
    title: str
    body: str
    category: DisclosureCategoryType | None = None  # type: ignore[valid-type]


@structural
@strawberry.type
class PostPayload:
    errors: list[UserErrorType]
    post: Post | None


@strawberry.type
class ContentMutation:
    @field(STAFF, "Publish on a community's page (its cadres, officials above).")
    async def post_publish(self, info: AppInfo, input: PostPublishInput) -> PostPayload:
        try:
            row = await content_rules.publish_post(
                info.context,
                decode_id(input.community_id, "OrgUnit")[1],
                PostKind(input.kind),
                DisclosureCategory(input.category) if input.category else None,
                input.title,
                input.body,
            )
        except Invalid as invalid:
            return failed(invalid, "post")  # type: ignore[no-any-return]
        return payload(post=row)  # type: ignore[no-any-return]

    @field(STAFF, "Take a post off the public page; it is kept, withdrawn.")
    async def post_withdraw(self, info: AppInfo, id: strawberry.ID) -> PostPayload:
        try:
            row = await content_rules.withdraw_post(
                info.context, decode_id(id, "Post")[1]
            )
        except Invalid as invalid:
            return failed(invalid, "post")  # type: ignore[no-any-return]
        return payload(post=row)  # type: ignore[no-any-return]


@strawberry.type(description="A post was published or withdrawn under a unit.")
class PostChange:
    kind: str = field(VISIBLE, "POST_PUBLISHED or POST_WITHDRAWN.")
    post_id: strawberry.ID = field(VISIBLE, "The post's global id.")
    at: datetime = field(VISIBLE, "When it changed.")

    @field(VISIBLE, "The post as it is now.")
    async def post(self, info: AppInfo) -> Post | None:
        post_pk: int = as_row(self)["post_pk"]
        return one(Post, await by_id(info.context, PostModel).load(post_pk))


@strawberry.type
class ContentSubscription:
    @field(
        STAFF,
        "Posts published or withdrawn under a unit of the caller's jurisdiction.",
        is_subscription=True,
    )
    async def post_changes(
        self, info: AppInfo, unit_id: strawberry.ID
    ) -> AsyncGenerator[PostChange, None]:
        _, pk = decode_id(unit_id, "OrgUnit")
        async for event in changes_under(info.context, "content", pk):
            yield {  # type: ignore[misc]
                "kind": event.kind,
                "post_id": encode_id("Post", event.subject_id),
                "post_pk": event.subject_id,
                "at": event.at,
            }
