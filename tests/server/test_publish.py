"""Publishing: one transaction with preconditions, immutable versions, no-ops, previews."""

from __future__ import annotations

import httpx
import pytest

from kit import publish_text, request, text_version
from promptrail.api.client import RegistryClient
from promptrail.errors import Conflict, RegistryError


def test_stale_precondition_refuses_the_whole_publish(
    client: RegistryClient, unique_name: str
) -> None:
    a, b = unique_name, unique_name + "-b"
    publish_text(client, a, 1, "a1", {"production": None})
    publish_text(client, b, 1, "b1", {"production": None})
    publish_text(client, b, 2, "b2", {"production": None})  # moves b past what the plan saw
    before = client.state([a, b])

    stale = request(
        [text_version(a, 2, "a2"), text_version(b, 3, "b3")],
        [(a, "production", 2, 1), (b, "production", 3, 1), (a, "staging", 2, None)],
    )
    with pytest.raises(Conflict) as refused:
        client.publish(stale)
    message = str(refused.value)
    assert (
        f"label 'production' of {b!r} is on version 2 now; the plan expected it on version 1"
        in message
    )
    assert "re-run `promptrail plan`" in message
    assert refused.value.details == [  # type: ignore[attr-defined]
        {
            "kind": "stale_label",
            "name": b,
            "label": "production",
            "expected": 1,
            "actual": 2,
            "message": refused.value.details[0]["message"],  # type: ignore[attr-defined]
        }
    ]
    assert client.state([a, b]) == before  # a's version 2 and staging were not written either
    assert client.get(a).version == 1


def test_version_with_other_content_is_409_and_identical_content_a_no_op(
    client: RegistryClient, unique_name: str
) -> None:
    first = publish_text(client, unique_name, 1, "original", {"production": None})
    assert first.publish_id is not None
    assert first.created == [
        {"name": unique_name, "version": 1, "hash": text_version(unique_name, 1, "original").hash}
    ]

    with pytest.raises(Conflict, match=r"version 1 of .* already exists with other content"):
        client.publish(request([text_version(unique_name, 1, "rewritten")]))
    assert client.get(unique_name).prompt == "original"

    same = client.publish(
        request([text_version(unique_name, 1, "original")], [(unique_name, "production", 1, 1)])
    )
    assert same.unchanged
    assert same.publish_id is None
    assert client.versions(unique_name).versions[0].publish_id == first.publish_id


def test_a_retried_publish_whose_first_attempt_committed_succeeds(
    client: RegistryClient, unique_name: str
) -> None:
    body = request([text_version(unique_name, 1, "x")], [(unique_name, "production", 1, None)])
    assert not client.publish(body).unchanged
    assert client.publish(body).unchanged  # the label is already where it asks: no 409


def test_dry_run_reports_without_storing(client: RegistryClient, unique_name: str) -> None:
    body = request(
        [text_version(unique_name, 1, "x")], [(unique_name, "production", 1, None)], dry_run=True
    )
    result = client.publish(body)
    assert result.publish_id is None
    assert result.created[0]["version"] == 1
    assert result.moved == [{"name": unique_name, "label": "production", "from": None, "to": 1}]
    assert unique_name not in client.state([unique_name]).prompts


def test_metadata_changes_need_no_version(client: RegistryClient, unique_name: str) -> None:
    publish_text(client, unique_name, 1, "x", {"production": None})
    result = client.publish(
        request(metadata={unique_name: {"tags": ["new"], "description": "Now described"}})
    )
    assert result.metadata == [unique_name]
    state = client.state([unique_name]).prompts[unique_name]
    assert (state.tags, state.description) == (["new"], "Now described")
    assert client.get(unique_name).tags == ["new"]
    assert [v.version for v in client.versions(unique_name).versions] == [1]


def test_label_moves_to_an_older_version_and_removals(
    client: RegistryClient, unique_name: str
) -> None:
    publish_text(client, unique_name, 1, "one", {"production": None})
    publish_text(client, unique_name, 2, "two", {"production": None, "staging": None})
    revert = client.publish(
        request(
            moves=[(unique_name, "production", 1, 2)],
            expect_versions={unique_name: {1: text_version(unique_name, 1, "one").hash}},
        )
    )
    assert revert.created == []
    assert client.get(unique_name).version == 1
    client.publish(request(moves=[(unique_name, "staging", None, 2)]))
    assert client.state([unique_name]).prompts[unique_name].labels == {"production": 1}

    with pytest.raises(RegistryError, match="would point to version 9, which the registry lacks"):
        client.publish(request(moves=[(unique_name, "production", 9, 1)]))
    with pytest.raises(Conflict, match="not in the registry, though the plan expected it"):
        client.publish(request(expect_versions={unique_name: {5: "0" * 64}}))


def test_preview_labels_serve_pr_content_without_claiming_version_numbers(
    client: RegistryClient, http: httpx.Client, unique_name: str
) -> None:
    publish_text(client, unique_name, 1, "main v1", {"production": None})
    preview = client.publish(
        request([text_version(unique_name, 2, "PR draft")], [(unique_name, "pr-7", 2, None)])
    )
    assert preview.created == []  # no immutable version was made
    served = client.get(unique_name, label="pr-7")
    assert (served.version, served.prompt, served.labels) == (2, "PR draft", ["pr-7"])
    state = client.state([unique_name]).prompts[unique_name]
    assert state.versions.keys() == {1}
    assert state.labels == {"production": 1, "pr-7": 2}
    assert state.previews["pr-7"].hash == text_version(unique_name, 2, "PR draft").hash

    # The PR pushes again: same number, other content: the preview follows.
    client.publish(
        request([text_version(unique_name, 2, "PR draft, take 2")], [(unique_name, "pr-7", 2, 2)])
    )
    assert client.get(unique_name, label="pr-7").prompt == "PR draft, take 2"

    # Main publishes its own version 2: the preview never claimed the number.
    publish_text(client, unique_name, 2, "main v2", {"production": None})
    assert client.get(unique_name).prompt == "main v2"
    assert client.get(unique_name, label="pr-7").prompt == "PR draft, take 2"

    # A preview may point at an existing version without uploading it.
    client.publish(request(moves=[(unique_name, "pr-8", 1, None)]))
    assert client.get(unique_name, label="pr-8").prompt == "main v1"

    # Closing the PR removes the label.
    client.publish(request(moves=[(unique_name, "pr-7", None, 2)]))
    assert http.get(f"/api/v1/prompts/{unique_name}?label=pr-7").status_code == 404
    events = client.label_history(unique_name, label="pr-7").events
    assert [(e.from_version, e.to_version) for e in events] == [(2, None), (2, 2), (None, 2)]


def test_a_preview_publish_cannot_touch_other_labels_or_create_versions(
    client: RegistryClient, unique_name: str
) -> None:
    publish_text(client, unique_name, 1, "v1", {"production": None})
    before = client.state([unique_name])
    with pytest.raises(
        RegistryError, match=r"preview labels .* and other labels cannot move in one"
    ):
        client.publish(
            request(
                [text_version(unique_name, 2, "x")],
                [(unique_name, "pr-1", 2, None), (unique_name, "production", 2, 1)],
            )
        )
    with pytest.raises(RegistryError, match="a preview never creates versions"):
        client.publish(
            request(
                [text_version(unique_name, 2, "x"), text_version(unique_name, 3, "y")],
                [(unique_name, "pr-1", 2, None)],
            )
        )
    with pytest.raises(RegistryError, match="cannot change tags"):
        client.publish(
            request(moves=[(unique_name, "pr-1", 1, None)], metadata={unique_name: {"tags": ["x"]}})
        )
    assert client.state([unique_name]) == before


def test_state_for_many_names_goes_in_a_post_body(client: RegistryClient, unique_name: str) -> None:
    publish_text(client, unique_name, 1, "x", {"production": None})
    names = [unique_name] + [f"{unique_name}-{i:04d}-with-a-long-enough-name" for i in range(100)]
    state = client.state(names)  # too long for a query string: the client POSTs
    assert list(state.prompts) == [unique_name]
    assert state.protected_labels == ["production"]
    assert state.preview_prefix == "pr-"
