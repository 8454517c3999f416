// AuditStore: the append-only log of lawful lookups (Registry::disclose) and its head, used by
// Registry::disclose and AuditLog only.
//
// Contract for every backend (tests/store/audit_contract.hpp checks it against each): entries
// are kept as given, never updated or deleted (purge never touches them); an append is one
// atomic step, isolated across threads, processes and nodes, and durable at commit. Every store
// has an AuditBinding, made when the store (or its upgrade to a version that has one) is created
// and never changed after: a random store id that goes into every entry's MAC, so that a log
// copied from another store does not verify in this one. What the fields mean, and the MAC chain
// that makes tampering evident, belong to the account layer (veribind/audit.hpp). Failures are
// values: kStoreError, or kUnavailable.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "veribind/blind_index.hpp"
#include "veribind/clock.hpp"
#include "veribind/identifier.hpp"
#include "veribind/result.hpp"

namespace veribind {

// One entry of the audit log, as stored.
struct AuditRecord {
  static constexpr std::size_t kMacBytes = 32;
  std::uint64_t sequence = 0;  // 1, 2, 3... in the order of appending
  Timestamp time{};
  std::string authority;
  std::string reference;
  std::string legal_basis;
  std::string requested_by;
  BlindIndex index;  // of the identifier asked about (never the identifier itself)
  Channel channel = Channel::kPhone;
  std::uint32_t accounts_returned = 0;
  std::uint32_t mac_key_version = 0;               // the audit subkey version of both MACs
  std::array<std::uint8_t, kMacBytes> prev_mac{};  // mac of entry sequence-1 (zeros for 1)
  std::array<std::uint8_t, kMacBytes> mac{};       // over all the fields above

  bool operator==(const AuditRecord&) const = default;
};

// The head of the audit log: how many entries it holds and the last one's MAC, itself MACed, so
// that dropping entries from the tail is evident. Replaced with every append.
struct AuditHead {
  std::uint64_t count = 0;  // == the last entry's sequence
  std::array<std::uint8_t, AuditRecord::kMacBytes> last_mac{};
  std::uint32_t mac_key_version = 0;
  std::array<std::uint8_t, AuditRecord::kMacBytes> mac{};  // over count, last_mac, version

  bool operator==(const AuditHead&) const = default;
};

// Ties a store's audit log to that store. Kept in the store's metadata, written once.
struct AuditBinding {
  static constexpr std::size_t kStoreIdBytes = 16;
  // Random (libsodium, or the database's own strong random source), made with the store; it is
  // not secret, only unique: two stores never share one.
  std::array<std::uint8_t, kStoreIdBytes> store_id{};
  // The first sequence number whose entry MAC covers store_id: 1 for a store created with an id;
  // for a store upgraded from a version without one, the count its log had then, plus one.
  // Entries before it were written without the id and verify as they were.
  std::uint64_t bound_from = 1;
  // The mac of entry bound_from - 1 (the last entry written without the id; zeros if none), so
  // that the unbound part of an upgraded log cannot be swapped for another store's either.
  std::array<std::uint8_t, AuditRecord::kMacBytes> unbound_last_mac{};

  bool operator==(const AuditBinding&) const = default;
};

enum class AuditAppendOutcome : std::uint8_t {
  kAppended,
  kConflict,  // the head's count is not entry.sequence - 1 (another append came first)
};

class AuditStore {
 public:
  virtual ~AuditStore() = default;

  // Atomically: if the stored head's count (0 when there is none) is entry.sequence - 1, inserts
  // `entry` and replaces the head with `head`; otherwise kConflict and nothing changes. kStoreError
  // if an entry with that sequence exists already although the head says otherwise.
  virtual Result<AuditAppendOutcome> append_audit(const AuditRecord& entry,
                                                  const AuditHead& head) = 0;
  // Up to `limit` entries with sequence >= `from`, in ascending sequence order.
  virtual Result<std::vector<AuditRecord>> scan_audit(std::uint64_t from, std::size_t limit) = 0;
  // The head, or nullopt while nothing was ever appended.
  virtual Result<std::optional<AuditHead>> audit_head() = 0;
  // The store's binding: the same value for the store's whole life, whoever reads it.
  virtual Result<AuditBinding> audit_binding() = 0;
};

}  // namespace veribind
