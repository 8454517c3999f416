// One description per stored column (veribind/stored_columns.hpp). Times are milliseconds since
// the Unix epoch, UTC; "blind index" is keyed BLAKE2b-256 of the canonical identifier
// (veribind/blind_index.hpp), which matches an identifier only for a holder of the key.
#include "veribind/stored_columns.hpp"

#include <array>

namespace veribind {
namespace {

constexpr std::array kColumns = {
    // challenges: one per code sent and not yet used or purged.
    ColumnDescription{"challenges", "id",
                      "the challenge id: 16 random bytes from libsodium, the handle start "
                      "returns and check takes; it means nothing by itself"},
    ColumnDescription{"challenges", "code_tag",
                      "SipHash-2-4-128 keyed with the code-tag subkey of key_version over "
                      "(challenge id, purpose, code): what check compares with; the code itself "
                      "is never stored"},
    ColumnDescription{"challenges", "blind_index",
                      "blind index of the identifier the code was sent to: random-looking "
                      "without the key"},
    ColumnDescription{"challenges", "key_version",
                      "the master key version whose subkeys made blind_index and code_tag"},
    ColumnDescription{"challenges", "expires_at",
                      "when the code stops being accepted; purge removes the row after that"},
    ColumnDescription{"challenges", "purpose",
                      "1 signup, 2 login, 3 recovery, 4 change of identifier: the code verifies "
                      "only for this purpose"},
    ColumnDescription{"challenges", "channel", "1 phone (SMS), 2 email: where the code went"},
    ColumnDescription{"challenges", "phone_type",
                      "the number's libphonenumber type as veribind's stable PhoneType value "
                      "(0 fixed line .. 11 unknown; 11 for email), kept for the phone-type "
                      "policy"},
    ColumnDescription{"challenges", "region",
                      "ISO 3166 region of the phone number (\"ZZ\" for email): coarse, kept for "
                      "the region policy"},
    ColumnDescription{"challenges", "attempts",
                      "checks charged so far, each before its code is compared"},
    ColumnDescription{"challenges", "max_attempts",
                      "checks allowed (5 by default): once attempts reaches it, even the right "
                      "code is refused"},
    ColumnDescription{"challenges", "provider_canonical",
                      "whether the email address was canonicalised with provider rules (+tags "
                      "and Gmail dots dropped) before indexing; false for a phone number"},
    ColumnDescription{"challenges", "calling_code",
                      "the phone number's country calling code (92 for Pakistan; 0 for email), "
                      "for per-calling-code send budgets"},
    ColumnDescription{"challenges", "charged_at",
                      "when the last check was charged (0 before the first): passes the time to "
                      "the trigger that counts the identifier's failure (SQLite only)"},
    ColumnDescription{"challenges", "failure_window_end",
                      "the failure window end the last charge asked for, read by the same trigger "
                      "(SQLite only)"},
    // counters: one per rate-limit subject and window.
    ColumnDescription{"counters", "key",
                      "SipHash-2-4-128 keyed with the counter subkey over the kind of limit, its "
                      "window and its subject (a blind index, a calling code or a client key), "
                      "then 16 zero bytes: links to no identifier or client without the key"},
    ColumnDescription{"counters", "window_end",
                      "when the rate-limit window ends; purge removes the row after that"},
    ColumnDescription{"counters", "count",
                      "what the limit counted in the window so far: codes sent, starts, checks or "
                      "failed checks"},
    ColumnDescription{"counters", "touches",
                      "how many times the row was written, modulo 65536: every step changes it, "
                      "so that a refused request writes as an admitted one does (SQLite only)"},
    // identifier_failures: one per identifier with failed checks in its window.
    ColumnDescription{"identifier_failures", "blind_index",
                      "blind index of the identifier whose checks failed"},
    ColumnDescription{"identifier_failures", "key_version",
                      "the blind-index key version of blind_index"},
    ColumnDescription{"identifier_failures", "count",
                      "checks of the identifier charged in the window and not yet taken back by "
                      "a right code"},
    ColumnDescription{"identifier_failures", "window_end",
                      "when the failure window ends (24 h after the first failure by default); "
                      "purge removes the row after that"},
    // bindings: one per account and channel, kept until unlinked or erased.
    ColumnDescription{"bindings", "account_id",
                      "the embedding backend's own account id, stored as link was given it"},
    ColumnDescription{"bindings", "blind_index",
                      "blind index of the verified identifier the account is bound to"},
    ColumnDescription{"bindings", "key_version",
                      "the master key version whose subkey made blind_index (rotate moves "
                      "sealed bindings to the current one)"},
    ColumnDescription{"bindings", "channel", "1 phone, 2 email: the kind of identifier bound"},
    ColumnDescription{"bindings", "created_at", "when the account was bound"},
    ColumnDescription{"bindings", "sealed_contact",
                      "NULL unless the policy retains the contact: then the identifier sealed "
                      "with XChaCha20-Poly1305 under a data key of its own that lives in the "
                      "contact key store (format byte, data key id, nonce, ciphertext, tag); "
                      "erase destroys that key, and with it every copy of the contact"},
    // audit_log: one per lawful request answered (Registry::disclose); append-only.
    ColumnDescription{"audit_log", "sequence",
                      "the entry's place in the log: 1, 2, 3... in the order of appending"},
    ColumnDescription{"audit_log", "time", "when the request was answered"},
    ColumnDescription{"audit_log", "authority",
                      "the requesting authority, plaintext as the operator gave it: about the "
                      "request, not about the person asked about"},
    ColumnDescription{"audit_log", "reference",
                      "the authority's case or order number, plaintext as given"},
    ColumnDescription{"audit_log", "legal_basis",
                      "the law or order that compels the answer, plaintext as given"},
    ColumnDescription{"audit_log", "requested_by",
                      "the operator who ran the lookup, plaintext as given"},
    ColumnDescription{"audit_log", "blind_index",
                      "blind index of the identifier asked about (never the identifier)"},
    ColumnDescription{"audit_log", "key_version",
                      "the master key version whose subkey made blind_index"},
    ColumnDescription{"audit_log", "channel",
                      "1 phone, 2 email: the kind of identifier asked about"},
    ColumnDescription{"audit_log", "accounts_returned",
                      "how many accounts the answer disclosed: a count, not their ids"},
    ColumnDescription{"audit_log", "mac_key_version",
                      "the master key version of the audit subkey that made prev_mac and mac"},
    ColumnDescription{"audit_log", "prev_mac",
                      "the previous entry's mac (32 zero bytes for entry 1): chains the entries"},
    ColumnDescription{"audit_log", "mac",
                      "BLAKE2b-256 keyed with the audit subkey over the store id (from "
                      "store_meta.audit_bound_from on), the entry's fields and prev_mac: an "
                      "edited, deleted, reordered or copied-in entry fails audit verify"},
    // audit_head: the one row that says how long the log is.
    ColumnDescription{"audit_head", "id", "always 1: the table holds a single row"},
    ColumnDescription{"audit_head", "count",
                      "how many entries the log holds (the last entry's sequence)"},
    ColumnDescription{"audit_head", "last_mac", "the mac of the last entry"},
    ColumnDescription{"audit_head", "mac_key_version",
                      "the master key version of the audit subkey that made mac"},
    ColumnDescription{"audit_head", "mac",
                      "BLAKE2b-256 keyed with the audit subkey over count, last_mac and "
                      "mac_key_version (and the store's binding once the head counts a bound "
                      "entry): entries dropped from the end fail audit verify"},
    // store_meta: the one row written when the store (or its upgrade) was created.
    ColumnDescription{"store_meta", "id", "always 1: the table holds a single row"},
    ColumnDescription{"store_meta", "store_id",
                      "16 random bytes made with the store: binds the audit log to it; names "
                      "no one"},
    ColumnDescription{"store_meta", "audit_bound_from",
                      "the first audit sequence whose mac covers store_id (1, or the log's count "
                      "plus one when an older database was upgraded)"},
    ColumnDescription{"store_meta", "audit_unbound_last_mac",
                      "the mac of the last audit entry written before the store had an id (zeros "
                      "if none)"},
    // schema_version: the migrations applied.
    ColumnDescription{"schema_version", "version",
                      "one row per schema migration applied: the layout of the database, nothing "
                      "about anyone"},
    ColumnDescription{"schema_version", "applied_at",
                      "PostgreSQL only: when that migration was applied, by the server's clock"},
};

}  // namespace

std::span<const ColumnDescription> stored_columns() noexcept { return kColumns; }

}  // namespace veribind
