"""The Settings page's "Check models": are the configured Higgsfield slugs available to this account?

One blocking call, made only when the producer presses the button (with a spinner), never on a page load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.errors import StudioError
from core.settings import Settings


@dataclass(frozen=True)
class CheckLine:
    ok: bool
    message: str
    note: bool = False  # not a failure, but worth a warning (a model without a reference field)


@dataclass
class ModelReport:
    lines: list[CheckLine] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.lines) and all(line.ok for line in self.lines)


def compare_models(settings: Settings, available: set[str] | dict[str, dict[str, Any]]) -> ModelReport:
    """Each configured slug, found or not, in words a producer can act on; with the published schemas, whether
    each takes the cast's reference images."""
    from core.higgs.schema import reference_field

    report = ModelReport()
    for use, slug in (("Images", settings.higgs_image_model), ("Clips", settings.higgs_video_model)):
        if slug in available:
            report.lines.append(CheckLine(True, f"{use}: `{slug}` is available."))
            schema = available.get(slug) if isinstance(available, dict) else None
            if schema:
                field = reference_field(slug, schema)
                report.lines.append(
                    CheckLine(True, f"{use}: `{slug}` takes reference images (`{field[0]}`): every render sends "
                                    "the photos of the shot's cast and set.") if field else
                    CheckLine(True, f"{use}: `{slug}` publishes no reference field: for it, identity rests on the "
                                    "text alone.", note=True))
        else:
            report.lines.append(CheckLine(
                False, f"{use}: `{slug}` is not offered to this account (it may have been retired). "
                       f"Pick another model in the settings before rendering.",
            ))
    return report


def check_models(settings: Settings) -> ModelReport:
    """Ask the models endpoint; an unreachable service or a bad key becomes one readable line."""
    if settings.higgs_credentials is None:
        return ModelReport([CheckLine(False, "No Higgsfield key is set: add HF_KEY to check models.")])
    try:
        available = _fetch_slugs(settings)
    except StudioError as err:
        return ModelReport([CheckLine(False, f"Could not check the models: {err}")])
    except Exception:  # noqa: BLE001 - network stacks raise many kinds; the producer needs one sentence
        return ModelReport([CheckLine(
            False, f"Could not reach Higgsfield at {settings.higgs_base_url}. Check the internet connection "
                   "and the HIGGS_BASE_URL setting, then try again.",
        )])
    return compare_models(settings, available)


def _fetch_slugs(settings: Settings) -> dict[str, dict[str, Any]]:
    """The account's models, read now; kept as the studio's model list (`core.higgs.published`), so the Clips
    page and the estimates follow what was just checked."""
    from core.higgs import published
    from core.higgs.client import client_from_settings

    with client_from_settings(settings, max_attempts=1) as client:
        models = client.models()
    creds = settings.higgs_credentials
    if creds is not None:
        published.remember(settings.data_dir, settings.higgs_base_url, creds[0], models)
    return models
