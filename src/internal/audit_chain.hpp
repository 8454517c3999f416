// The audit chain's encoding and MACs, shared by the writer (Registry::disclose) and the reader
// (AuditLog). See veribind/audit.hpp for the design.
//
// Encoding: every variable-length field is a 4-byte big-endian length then its bytes; integers are
// fixed-width big-endian; a domain string of its own starts each kind of record, so an entry can
// never be read as a head or the other way round, and no two different records encode alike.
#pragma once

#include <sodium.h>

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "internal/keyed_hash.hpp"
#include "veribind/result.hpp"
#include "veribind/secret.hpp"
#include "veribind/store.hpp"

namespace veribind::internal {

using AuditMac = std::array<std::uint8_t, AuditRecord::kMacBytes>;
static_assert(AuditRecord::kMacBytes >= crypto_generichash_BYTES_MIN &&
              AuditRecord::kMacBytes <= crypto_generichash_BYTES_MAX);

class AuditEncoder {
 public:
  void u8(std::uint8_t v) { bytes_.push_back(v); }
  void u32(std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) u8(static_cast<std::uint8_t>(v >> shift));
  }
  void u64(std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) u8(static_cast<std::uint8_t>(v >> shift));
  }
  // Callers keep strings far below 4 GiB (LegalRequest caps them at a few hundred bytes).
  void text(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  void raw(std::span<const std::uint8_t> b) { bytes_.insert(bytes_.end(), b.begin(), b.end()); }
  [[nodiscard]] std::span<const std::uint8_t> bytes() const { return bytes_; }

 private:
  std::vector<std::uint8_t> bytes_;
};

// Every field of the entry but `mac`, prev_mac last.
inline AuditMac audit_entry_mac(const SecretBytes& key, const AuditRecord& e) {
  AuditEncoder enc;
  enc.text("veribind.audit.entry.v1");
  enc.u64(e.sequence);
  enc.u64(static_cast<std::uint64_t>(e.time.time_since_epoch().count()));
  enc.text(e.authority);
  enc.text(e.reference);
  enc.text(e.legal_basis);
  enc.text(e.requested_by);
  enc.raw(e.index.value);
  enc.u32(e.index.key_version);
  enc.u8(static_cast<std::uint8_t>(e.channel));
  enc.u32(e.accounts_returned);
  enc.u32(e.mac_key_version);
  enc.raw(e.prev_mac);
  AuditMac mac{};
  keyed_blake2b(mac, key, {enc.bytes()});
  return mac;
}

inline AuditMac audit_head_mac(const SecretBytes& key, const AuditHead& h) {
  AuditEncoder enc;
  enc.text("veribind.audit.head.v1");
  enc.u64(h.count);
  enc.raw(h.last_mac);
  enc.u32(h.mac_key_version);
  AuditMac mac{};
  keyed_blake2b(mac, key, {enc.bytes()});
  return mac;
}

// Appends `entry` (its time, request, index, channel and count filled in) to the log: gives it the
// next sequence number, chains it on the current head, MACs it and the new head with `key`
// (the audit subkey of `key_version`), and has the store commit both atomically. Another writer
// appending first makes the store report a conflict; the entry is then rebuilt on the new head,
// a bounded number of times (kUnavailable after). Returns the entry as stored. Defined in
// src/account/audit.cpp.
[[nodiscard]] Result<AuditRecord> append_audit_entry(Store& store, const SecretBytes& key,
                                                     std::uint32_t key_version, AuditRecord entry);

// Constant time, as every MAC comparison must be.
[[nodiscard]] inline bool same_mac(const AuditMac& a, const AuditMac& b) noexcept {
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace veribind::internal
