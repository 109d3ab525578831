"""How a call is placed: the volunteer's own phone (a ``tel:`` link), or a provider bridge that
rings the volunteer, dials the contact and joins them, showing the campaign's caller ID, so
neither sees the other's number; and the dialer's pacing, which keeps Ofcom's rules."""
