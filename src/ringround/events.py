"""What happened, announced by the services that made it happen, for whoever listens.

The rooms that do things (calling, campaigns, imports) sit below the ones that tell the outside
world about them (webhooks), and a lower room never imports a higher one. So the doers send
these plain Django signals, defined here at the bottom with nothing of ours imported, and the
listeners connect to them from their own ``apps.py``. A signal is sent after the thing is
stored, possibly inside the sender's transaction: a listener that does real work must wait for
the commit (``transaction.on_commit``), and must never make the sender slow or fail.

Each signal's keyword arguments are the stored objects:

- ``call_recorded``: ``call`` (a ``calling.Call`` just stored; not sent again for a retry).
- ``contact_suppressed``: ``suppression`` (a ``contacts.Suppression``) and ``created``
  (False when the number was on the list already).
- ``volunteer_joined``: ``membership`` (a ``campaigns.Membership``; listeners look at its
  status, since it is sent when someone joins and again when they become active).
- ``import_finished``: ``job`` (an ``imports.Import`` that has just finished).
- ``contact_erased``: ``public_id`` (of a contact whose personal data was just erased, inside
  the erasure's transaction): whoever keeps a copy of what was said about them forgets it.
"""

from django.dispatch import Signal

call_recorded = Signal()
contact_suppressed = Signal()
volunteer_joined = Signal()
import_finished = Signal()
contact_erased = Signal()
