"""Registry search (三实查询): one query → addresses, organisations, city objects or (allowed roles) people."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from citybase.domains.access import Actor
from citybase.domains.registry.search import MAX_QUERY, RegistrySearch
from citybase.web.auth import current_actor, platform_of

router = APIRouter(tags=["registry search"])
ActorDep = Annotated[Actor, Depends(current_actor)]


@router.get(
    "/api/registry/search",
    summary="Search the registries by address, display code, object code, USCC "
    "or (roles allowed personal data) ID number; each hit links to its portal page",
)
def registry_search_endpoint(
    request: Request,
    actor: ActorDep,
    q: Annotated[str, Query(max_length=MAX_QUERY, description="what was typed")],
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> dict[str, Any]:
    p = platform_of(request)
    search = RegistrySearch(p.addresses, p.address_matcher, p.codes, p.orgs, p.people)
    return search.search(actor, q, limit=limit).as_dict()
