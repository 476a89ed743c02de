"""Open311 GeoReport v2 under /open311/v2/ (DESIGN §9): discovery, services, requests.

Every resource answers `.json` or `.xml` (no suffix: XML, the spec's required format).
POST /requests needs a channel's `api_key` from the org file's `channels:` list.
"""
from __future__ import annotations

import logging
from xml.etree import ElementTree as ET

from aiohttp import web

from bot.context import App
from bot.services import open311
from bot.services.open311 import Open311Error
from web.open311.formats import FORMATS, error, respond, split_format
from web.transactions import run_op

log = logging.getLogger(__name__)
PREFIX = "/open311/v2"
SPEC = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-26T00:00:00Z"


_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
_NOT_A_FORM = "the body must be form-encoded (application/x-www-form-urlencoded)"


def _service_row(s: open311.Service) -> dict:
    return {"service_code": s.code, "service_name": s.name, "description": s.description, "metadata": False,
            "type": "realtime", "keywords": ",".join(s.keywords), "group": s.group}


def _request_row(r: open311.PublicRequest) -> dict:
    return {"service_request_id": r.service_request_id, "status": r.status, "status_notes": r.status_notes,
            "service_name": r.service_name, "service_code": r.service_code, "description": None,
            "agency_responsible": r.agency_responsible, "service_notice": None,
            "requested_datetime": r.requested_datetime, "updated_datetime": r.updated_datetime,
            "expected_datetime": r.expected_datetime or None, "address": None, "address_id": None,
            "zipcode": None, "lat": None, "long": None, "media_url": None}


def _requests(fmt: str, rows: list[open311.PublicRequest]) -> web.Response:
    body = [_request_row(r) for r in rows]
    return respond(fmt, body, "service_requests", "request", body)


class Open311Routes:
    def __init__(self, app: App) -> None:
        self.app = app

    def base_url(self, request: web.Request) -> str:
        base = self.app.settings.console_url or f"{request.scheme}://{request.host}/"
        return base + PREFIX.lstrip("/")

    async def discovery(self, request: web.Request) -> web.Response:
        fmt = split_format(request.match_info["name"])[1]
        url = self.base_url(request)
        if fmt == "json":
            body = {"changeset": CHANGESET, "contact": "", "key_service": "", "endpoints": [{
                "specification": SPEC, "url": url, "changeset": CHANGESET, "type": "production",
                "formats": list(FORMATS.values())}]}
            return respond("json", body, "", None, {})
        top = ET.Element("discovery")
        for key, value in (("changeset", CHANGESET), ("contact", ""), ("key_service", "")):
            ET.SubElement(top, key).text = value
        endpoint = ET.SubElement(ET.SubElement(top, "endpoints"), "endpoint")
        for key, value in (("specification", SPEC), ("url", url), ("changeset", CHANGESET), ("type", "production")):
            ET.SubElement(endpoint, key).text = value
        formats = ET.SubElement(endpoint, "formats")
        for mime in FORMATS.values():
            ET.SubElement(formats, "format").text = mime
        body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(top, encoding="utf-8", xml_declaration=False)
        return web.Response(body=body, content_type="text/xml", charset="utf-8")

    async def services(self, request: web.Request) -> web.Response:
        fmt = split_format(request.match_info["name"])[1]
        rows = [_service_row(s) for s in await run_op(self.app, lambda s: open311.services(s, self.app), write=False)]
        return respond(fmt, rows, "services", "service", rows)

    async def service(self, request: web.Request) -> web.Response:
        code, fmt = split_format(request.match_info["code"])
        s = await run_op(self.app, lambda session: open311.service(session, self.app, code), write=False)
        body = {"service_code": s.code, "attributes": []}
        return respond(fmt, body, "service_definition", None, body)

    async def requests(self, request: web.Request) -> web.Response:
        fmt = split_format(request.match_info["name"])[1]
        if request.method == "POST":
            return await self.post_request(request, fmt)
        params = dict(request.query)
        rows = await run_op(self.app, lambda s: open311.find_requests(s, self.app, params), write=False)
        return _requests(fmt, rows)

    async def post_request(self, request: web.Request, fmt: str) -> web.Response:
        if request.body_exists and request.content_type not in _FORMS:
            # aiohttp reads any other body (JSON, say) as an empty form: the client would be told
            # its api_key is wrong when its body is what the server cannot read.
            raise Open311Error(400, _NOT_A_FORM)
        try:
            posted = await request.post()
        except (ValueError, LookupError):  # no multipart boundary, bytes that are not the charset, an unknown charset
            raise Open311Error(400, _NOT_A_FORM) from None
        form = {k: v for k, v in posted.items() if isinstance(v, str)}
        form = {**{k: v for k, v in request.query.items() if k == "api_key"}, **form}
        ticket = await run_op(self.app, lambda s: open311.file_request(s, self.app, form))
        log.info("open311: %s filed by a channel", ticket.code)
        body = [{"service_request_id": ticket.code, "service_notice": open311.service_notice(self.app, ticket),
                 "account_id": None}]
        return respond(fmt, body, "service_requests", "request", body)

    async def one_request(self, request: web.Request) -> web.Response:
        rid, fmt = split_format(request.match_info["id"])
        row = await run_op(self.app, lambda s: open311.find_request(s, self.app, rid), write=False)
        return _requests(fmt, [row])


@web.middleware
async def spec_errors(request: web.Request, handler) -> web.StreamResponse:  # noqa: ANN001
    """Every failure in the spec's error format, in the format the path asked for; never a traceback."""
    fmt = split_format(request.path.rsplit("/", 1)[-1])[1]
    try:
        return await handler(request)
    except Open311Error as exc:
        return error(fmt, exc.status, exc.description)
    except web.HTTPException as exc:
        if exc.status >= 400:
            return error(fmt, exc.status, exc.reason)
        raise
    except Exception:  # noqa: BLE001 — the client gets the spec's 500, the log gets the story
        log.exception("open311: %s %s failed", request.method, request.path)
        return error(fmt, 500, "internal error")


def build_open311(app: App) -> web.Application:
    """The sub-application to mount at /open311/v2/ (`parent.add_subapp(PREFIX, build_open311(app))`)."""
    routes = Open311Routes(app)
    sub = web.Application(middlewares=[spec_errors])
    sub.router.add_get(r"/{name:discovery(?:\.json|\.xml)?}", routes.discovery)
    sub.router.add_get(r"/{name:services(?:\.json|\.xml)?}", routes.services)
    sub.router.add_get(r"/services/{code}", routes.service)
    sub.router.add_route("GET", r"/{name:requests(?:\.json|\.xml)?}", routes.requests)
    sub.router.add_route("POST", r"/{name:requests(?:\.json|\.xml)?}", routes.requests)
    sub.router.add_get(r"/requests/{id}", routes.one_request)
    return sub
