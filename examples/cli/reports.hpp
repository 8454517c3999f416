// The JSON reports that both the CLI's --json output and the server's operator routes give, built
// in one place so that the two never drift apart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "veribind/veribind.hpp"

namespace veribind::cli {

// `veribind disclose --json`.
[[nodiscard]] nlohmann::json disclosure_json(const Disclosure& answer, const std::string& policy);
// `veribind audit verify --json`: ok true/false, the problem, where, and the stored head.
[[nodiscard]] nlohmann::json audit_verification_json(const AuditVerification& report);
// `veribind transparency --json`.
[[nodiscard]] nlohmann::json transparency_json(const TransparencyReport& report,
                                               const std::optional<Timestamp>& since);
// `veribind retention --json`.
[[nodiscard]] nlohmann::json retention_json(const std::vector<RowKindStats>& stats, Timestamp now);
// One key version's users, as `veribind rotate --json` lists the older versions.
[[nodiscard]] nlohmann::json key_usage_json(std::uint32_t version, const KeyUsage& usage);

// Purges everything expired at `now`, `batch` rows of each kind per transaction (1..1000000;
// kInvalidArgument "--batch must be 1..1000000" otherwise), until a batch comes back short.
struct PurgeSummary {
  PurgeCounts total;
  std::size_t batches = 0;
  std::size_t batch_size = 0;
  Timestamp as_of{};
};
[[nodiscard]] Result<PurgeSummary> purge_all(VerificationStore& store, Timestamp now,
                                             std::size_t batch);
// What an erasure did: bindings_removed, key_copies_remain, and while copies remain the warning
// that says when erasing again removes them. `veribind erase --json` adds "account", the
// server's operator route "account_id".
[[nodiscard]] nlohmann::json erasure_json(const Erasure& erasure);
inline constexpr std::string_view kErasureCopiesRemain =
    "the data keys are deleted, but copies remain in the contact key store's live files until the "
    "processes reading it close; run erase again after that to remove them";
// `veribind purge --json`.
[[nodiscard]] nlohmann::json purge_json(const PurgeSummary& summary);

}  // namespace veribind::cli
