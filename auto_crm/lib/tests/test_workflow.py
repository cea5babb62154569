import pytest
import workflow

WORKFLOWS = sorted({**workflow.WORKFLOWS, **workflow.VERSION_WORKFLOWS}.items())
GROUPS = {workflow.ADVISOR, workflow.MANAGER, workflow.ADMIN, workflow.SUDO}


@pytest.mark.parametrize(("name", "flow"), WORKFLOWS)
def test_every_state_reachable_from_the_initial_states(name, flow):
    states, initial, table = flow
    assert set(initial) <= set(states)
    assert workflow.reachable(table, initial) == set(states), name


@pytest.mark.parametrize(("name", "flow"), WORKFLOWS)
def test_transitions_are_between_known_states_with_known_groups(name, flow):
    states, _initial, table = flow
    for (old, new), (button, groups) in table.items():
        assert old in states and new in states, (name, old, new)
        assert old != new, (name, old)
        assert button and isinstance(button, str), (name, old, new)
        assert isinstance(groups, tuple) and set(groups) <= GROUPS, (name, old, new, groups)


def test_final_states():
    assert workflow.final_states(workflow.ACTION_TRANSITIONS, workflow.ACTION_STATES) == {"verified"}
    assert workflow.final_states(workflow.CALLBACK_TRANSITIONS, workflow.CALLBACK_STATES) == {"done"}
    assert not workflow.final_states(workflow.VISIT_TRANSITIONS, workflow.VISIT_STATES)
    assert not workflow.final_states(workflow.COMPLAINT_TRANSITIONS, workflow.COMPLAINT_STATES)


def test_visit_steps_are_not_skipped():
    table = workflow.VISIT_TRANSITIONS
    steps = workflow.VISIT_STATES[:-1]
    for index, old in enumerate(steps[:-1]):
        assert workflow.allowed(table, old, steps[index + 1])
        for later in steps[index + 2 :]:
            assert not workflow.allowed(table, old, later), (old, later)
    assert workflow.targets(table, "cancel") == {"appointment"}
    assert workflow.groups_for(table, "cancel", "appointment") == (workflow.MANAGER,)
    assert workflow.groups_for(table, "repair", "cancel") == (workflow.ADVISOR,)
    assert workflow.groups_for(table, "followup", "cancel") is None


def test_only_the_engine_expires_callbacks_and_managers_reopen():
    table = workflow.CALLBACK_TRANSITIONS
    for (old, new), (_button, groups) in table.items():
        assert (new == "expired") == (groups == (workflow.SUDO,)), (old, new)
        if new == "todo":
            assert groups == (workflow.MANAGER,)
    assert workflow.reachable(table, "done") == {"done"}


def test_approval_is_the_general_managers():
    table = workflow.ACTION_TRANSITIONS
    assert workflow.groups_for(table, "waiting_approval", "approved") == (workflow.ADMIN,)
    assert workflow.groups_for(table, "waiting_approval", "draft") == (workflow.ADMIN,)
    assert not workflow.allowed(table, "draft", "approved")


def test_refused_pairs_complement_the_table():
    states, table = workflow.COMPLAINT_STATES, workflow.COMPLAINT_TRANSITIONS
    refused = workflow.refused_pairs(table, states)
    assert len(refused) + len(table) == len(states) * (len(states) - 1)
    assert ("new", "closed") in refused
    assert not set(refused) & set(table)


def test_weighting_versions_move_only_by_the_activate_button():
    table = workflow.HIERARCHY_TRANSITIONS
    assert all(groups == (workflow.SUDO,) for _button, groups in table.values())
    assert workflow.final_states(table, workflow.HIERARCHY_STATES) == {"superseded"}
    assert not workflow.allowed(table, "active", "draft")
    assert not workflow.allowed(table, "superseded", "active")
