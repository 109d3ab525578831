"""The contact's fields are listed once (``CONTACT_FIELDS``, from the model): imports, the
bulk writer, subject access, erasure and the results export all take their columns from it,
so a field added to the model reaches each of them without another edit."""

import pytest

from ringround.contacts import bulk
from ringround.contacts.models import (
    CONTACT_FIELDS,
    ERASED_FIELDS,
    EXPORTED_FIELDS,
    Contact,
)
from ringround.imports import mapping
from ringround.imports.base import BaseImporter
from ringround.privacy import services as privacy
from ringround.reports.services import export_columns
from tests.factories import ContactFactory


def test_the_list_is_every_field_of_the_model_but_the_bookkeeping():
    names = [field.name for field in Contact._meta.concrete_fields]
    assert list(CONTACT_FIELDS) == [name for name in names if name not in Contact.BOOKKEEPING]


def test_the_bulk_writer_writes_every_column_of_the_table():
    assert set(bulk.INSERTED) == {field.column for field in Contact._meta.concrete_fields}
    assert set(bulk.UPDATED_FIELDS) == set(CONTACT_FIELDS) - {"source"}


def test_an_import_can_fill_in_every_field_it_does_not_work_out_itself():
    codes = {code for code, _label in mapping.FIELDS}
    assert set(CONTACT_FIELDS) - set(mapping.COMPUTED) <= codes
    assert all(
        mapping.guess_field(name.replace("_", " ")) == name
        for name in codes & set(CONTACT_FIELDS) - {"phone"}
    )


def test_an_import_plan_carries_the_fields_in_order_with_the_models_lengths():
    class Job:
        kind, headers, mapping = "contacts", ["Phone"], ["phone"]
        default_country, tags, source_label = "GB", "", "import:x"

    importer = BaseImporter.__new__(BaseImporter)
    importer.job = Job()
    plan = importer.plan()
    assert plan.fields == CONTACT_FIELDS
    lengths = {name: longest for name, longest, _label in plan.max_lengths}
    assert lengths["external_id"] == Contact._meta.get_field("external_id").max_length
    assert len(plan.template) == len(CONTACT_FIELDS)


@pytest.mark.django_db
def test_subject_access_reports_every_field():
    person = ContactFactory(email="sam@example.org", postcode="WC1X 8AA")
    report = privacy.contact_report(person)["contact"]
    assert set(report) == {"id", "erased", "created_at", "updated_at", *CONTACT_FIELDS}


def test_erasure_clears_every_field_but_the_coarse_ones_and_the_export_carries_its_own():
    assert set(ERASED_FIELDS) == set(CONTACT_FIELDS) - set(Contact.KEPT_AFTER_ERASURE)
    assert {"area", "time_zone", "source"}.isdisjoint(ERASED_FIELDS)
    columns = export_columns()
    assert [c for c in columns if c in CONTACT_FIELDS] == list(EXPORTED_FIELDS)
    assert set(EXPORTED_FIELDS) == set(CONTACT_FIELDS) - set(Contact.NOT_EXPORTED)
