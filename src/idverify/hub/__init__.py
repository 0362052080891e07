"""The regional supervision hub: a second service, run once per region by the health commission.

It witnesses clinic ledgers (C2SP tlog-witness, cosignature/v1), receives their pseudonymous ledger entries (the
feed, each batch proven against a checkpoint it cosigned), raises cross-clinic alerts from regional pseudonyms,
records every action of its own in its own ledger, and serves the regional inspector's UI and API. Clinics connect
out to it; it never reaches into a clinic. Own FastAPI app, own database and migrations (``hub/migrations``).

May import :mod:`idverify.ledger`'s pure modules and services, :mod:`idverify.store` helpers and
:mod:`idverify.config`; nothing in the clinic daemon imports the hub's server side. The clinic's client of
the hub lives in the ledger room (:mod:`idverify.ledger.witness_client`, :mod:`idverify.ledger.hub_sync`).
See ``hub/README.md``.
"""
