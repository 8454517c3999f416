// The kinds of row a store holds: how long each is kept and what one row reveals. Every backend
// reports its rows under these names (RetentionReport::retention_stats), so that `veribind
// retention` and SECURITY.md say the same thing about every backend.
#include <array>

#include "veribind/retention.hpp"

namespace veribind {
namespace {

constexpr std::array<RowKindDescription, 5> kRowKinds{{
    {"challenges",
     "until the code expires (10 min by default) or is used; purge_expired removes expired ones",
     "challenge id, keyed code tag, blind index, purpose, channel, phone type and region, "
     "attempts: "
     "that someone asked for a code for some identifier of that region in the last minutes; the "
     "identifier only to a holder of the key; the code to nobody (a tag, useless once expired)"},
    {"counters",
     "until the rate-limit window ends (one hour by default); purge_expired removes ended ones",
     "keyed hash of a rate-limit subject + count + window end: how often some identifier, client "
     "or calling code was sent codes or made requests in this window; which one, only to a holder "
     "of the key"},
    {"failure_counts",
     "until the failure window ends (24 h from the first failed check by default) or a right code "
     "clears it; purge_expired removes ended ones",
     "blind index + key version + count + window end: how many checks of some identifier failed "
     "in the window (a reader of the database can match it to the identifier's binding, as with "
     "a live challenge); which identifier, only to a holder of the key"},
    {"bindings", "until the account is unlinked or erased: owned by the account, no expiry",
     "account id + blind index + key version, channel, creation time: that this account is bound "
     "to some phone or email since then; reveals the identifier only to a holder of the key (who "
     "can enumerate phone numbers, see veribind compare)"},
    {"audit_log",
     "kept: an append-only record of lawful requests answered (Registry::disclose); purge never "
     "removes it, and its key version stays in use",
     "time, authority, reference, legal basis and requester of each request, the blind index "
     "asked about and how many accounts were returned: which requests were made; which identifier, "
     "only to a holder of the key"},
}};

}  // namespace

const RowKindDescription* describe_row_kind(std::string_view kind) noexcept {
  for (const RowKindDescription& d : kRowKinds) {
    if (d.kind == kind) return &d;
  }
  return nullptr;
}

std::string_view bytes_method_name(BytesMethod method) noexcept {
  switch (method) {
    case BytesMethod::kMeasured: return "measured";
    case BytesMethod::kEstimate: return "estimate";
  }
  return "estimate";
}

}  // namespace veribind
