"""What communities publish: disclosures (三务公开), notices and news.

Cadres of a community, and officials above it, publish and withdraw; anyone reads
what is published. A withdrawn post is kept for the record and cannot be changed.
"""

from __future__ import annotations

from typing import Any

from tortoise.queryset import QuerySet

from models import HouseholdMember, OrgUnit, Post
from models.enums import DisclosureCategory, Level, PostKind, Role
from permissions.caller import Caller
from permissions.errors import Forbidden, NotFound
from permissions.scope import active_on, visible
from resolvers.base import Invalid, UserError, write
from resolvers.context import Context
from resolvers.events import Event
from resolvers.loaders import columns, fetch_row
from resolvers.pagination import check_first, connection, decode_cursor

__all__ = [
    "PUBLISHERS",
    "community_by_code",
    "is_resident_of",
    "newest_first",
    "posts_query",
    "publish_post",
    "withdraw_post",
]

# Who publishes for a community: its cadres, officials above it (and admins).
PUBLISHERS = frozenset({Role.CADRE, Role.OFFICIAL})
MAX_TITLE = 100
MAX_BODY = 5000


def can_publish(caller: Caller, path: str) -> bool:
    return caller.is_admin or caller.covers(path, PUBLISHERS)


def posts_query(
    caller: Caller,
    unit_path: str | None = None,
    kind: PostKind | None = None,
    category: DisclosureCategory | None = None,
    include_withdrawn: bool = False,
) -> QuerySet[Post]:
    """Posts the caller may see, under a unit, of a kind or category."""
    queryset = visible(Post, caller)
    if not include_withdrawn:
        queryset = queryset.filter(withdrawn_at__isnull=True)
    if unit_path is not None:
        queryset = queryset.filter(unit_path__startswith=unit_path)
    if kind is not None:
        queryset = queryset.filter(kind=kind)
    if category is not None:
        queryset = queryset.filter(category=category)
    return queryset


async def newest_first(
    queryset: QuerySet[Post], first: int, after: str | None
) -> dict[str, Any]:
    """A page of posts, the newest first (by id, which follows publication)."""
    check_first(first)
    page = queryset
    if after is not None:
        page = page.filter(id__lt=decode_cursor(after))
    rows = await page.order_by("-id").limit(first + 1).values(*columns(Post))
    return connection(rows, first, after, queryset.count)


async def community_by_code(caller: Caller, code: str) -> OrgUnit:
    """The community of a community code (its administrative code)."""
    unit = await visible(OrgUnit, caller).get_or_none(
        code=code.strip(), level=Level.COMMUNITY
    )
    if unit is None:
        raise NotFound("No community has this code.")
    return unit


async def is_resident_of(caller: Caller, context: Context, path: str) -> bool:
    """Whether the caller is a member of a household of the community today."""
    if caller.person_id is None:
        return False
    today = context.clock().date()
    return await HouseholdMember.filter(
        active_on(today), person_id=caller.person_id, unit_path__startswith=path
    ).exists()


def _check(
    kind: PostKind, category: DisclosureCategory | None, title: str, body: str
) -> list[UserError]:
    errors: list[UserError] = []
    if not 1 <= len(title) <= MAX_TITLE:
        errors.append(
            UserError(
                "title",
                f"Enter a title of 1 to {MAX_TITLE} characters.",
                "INVALID_TITLE",
            )
        )
    if not 1 <= len(body) <= MAX_BODY:
        errors.append(
            UserError(
                "body", f"Enter a text of 1 to {MAX_BODY} characters.", "INVALID_BODY"
            )
        )
    if kind == PostKind.DISCLOSURE and category is None:
        errors.append(
            UserError(
                "category",
                "Say which affairs the disclosure is about.",
                "CATEGORY_REQUIRED",
            )
        )
    if kind != PostKind.DISCLOSURE and category is not None:
        errors.append(
            UserError(
                "category", "Only disclosures have a category.", "CATEGORY_NOT_ALLOWED"
            )
        )
    return errors


async def publish_post(
    context: Context,
    community_id: int,
    kind: PostKind,
    category: DisclosureCategory | None,
    title: str,
    body: str,
) -> dict[str, Any]:
    """Publish on a community's public page, now."""
    caller = context.caller
    unit = await visible(OrgUnit, caller).get_or_none(id=community_id)
    if unit is None:
        raise NotFound("No OrgUnit has this id.")
    if not can_publish(caller, unit.path):
        raise Forbidden("Only the community's cadres and officials above it publish.")

    title, body = title.strip(), body.strip()
    errors = _check(kind, category, title, body)
    if unit.level != Level.COMMUNITY:
        errors.append(
            UserError(
                "communityId",
                "Posts are published by a village or community.",
                "NOT_A_COMMUNITY",
            )
        )
    if errors:
        raise Invalid(errors)

    async with write(context, "POST_PUBLISH") as work:
        post = await Post.create(
            unit_id=unit.id,
            unit_path=unit.path,
            kind=kind,
            category=category,
            title=title,
            body=body,
            published_at=context.clock(),
            published_by_id=caller.person_id,
        )
        work.audit("Post", [post.id], unit.path, kind=kind.value)
        work.emit(_event("POST_PUBLISHED", post, caller, kind))
    return await fetch_row(Post, post.id)


async def withdraw_post(context: Context, post_id: int) -> dict[str, Any]:
    """Take a post off the public page; it stays, withdrawn, for the record."""
    caller = context.caller
    post = await visible(Post, caller).get_or_none(id=post_id)
    if post is None:
        raise NotFound("No Post has this id.")
    if not can_publish(caller, post.unit_path):
        raise Forbidden("Only the community's cadres and officials above it withdraw.")
    if post.withdrawn_at is not None:
        raise Invalid(
            [UserError("id", "The post is already withdrawn.", "ALREADY_WITHDRAWN")]
        )

    async with write(context, "POST_WITHDRAW") as work:
        # Only a post still published is changed: a concurrent withdrawal wins once.
        changed = await Post.filter(id=post.id, withdrawn_at__isnull=True).update(
            withdrawn_at=context.clock(), withdrawn_by_id=caller.person_id
        )
        if not changed:
            raise Invalid(
                [UserError("id", "The post is already withdrawn.", "ALREADY_WITHDRAWN")]
            )
        work.audit("Post", [post.id], post.unit_path)
        work.emit(_event("POST_WITHDRAWN", post, caller, PostKind(post.kind)))
    return await fetch_row(Post, post.id)


def _event(kind: str, post: Post, caller: Caller, post_kind: PostKind) -> Event:
    return Event(
        "content",
        kind,
        post.unit_path,
        "Post",
        post.id,
        caller.person_id,
        data={"kind": post_kind.value},
    )
