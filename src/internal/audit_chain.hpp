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

#include "internal/keyed_hash.hpp"
#include "veribind/audit_store.hpp"
#include "veribind/result.hpp"
#include "veribind/secret.hpp"

namespace veribind::internal {

using AuditMac = std::array<std::uint8_t, AuditRecord::kMacBytes>;
static_assert(AuditRecord::kMacBytes >= crypto_generichash_BYTES_MIN &&
              AuditRecord::kMacBytes <= crypto_generichash_BYTES_MAX);

// Streams the encoding of one record into keyed BLAKE2b-256, so that no buffer is built: the
// same bytes as hashing the whole encoding at once. (Building it in a growing std::vector also
// made GCC 12 at -O3 report false stringop-overflow warnings inside libstdc++.) The hash state,
// which holds key-derived material, is wiped when the encoder goes away.
class AuditMacEncoder {
 public:
  explicit AuditMacEncoder(const SecretBytes& key) noexcept {
    const auto k = key.reveal();
    crypto_generichash_init(&state_, k.data(), k.size(), AuditRecord::kMacBytes);
  }
  AuditMacEncoder(const AuditMacEncoder&) = delete;
  AuditMacEncoder& operator=(const AuditMacEncoder&) = delete;
  ~AuditMacEncoder() { sodium_memzero(&state_, sizeof state_); }

  void u8(std::uint8_t v) noexcept { raw({&v, 1}); }
  void u32(std::uint32_t v) noexcept { big_endian<4>(v); }
  void u64(std::uint64_t v) noexcept { big_endian<8>(v); }
  // Callers keep strings far below 4 GiB (LegalRequest caps them at a few hundred bytes).
  void text(std::string_view s) noexcept {
    u32(static_cast<std::uint32_t>(s.size()));
    raw(bytes_of(s));
  }
  void raw(std::span<const std::uint8_t> b) noexcept {
    crypto_generichash_update(&state_, b.data(), b.size());
  }
  // Precondition: called once, last.
  [[nodiscard]] AuditMac finish() noexcept {
    AuditMac mac{};
    crypto_generichash_final(&state_, mac.data(), mac.size());
    ++mac_count;
    return mac;
  }

 private:
  template <std::size_t Bytes>
  void big_endian(std::uint64_t v) noexcept {
    std::array<std::uint8_t, Bytes> b{};
    for (std::size_t i = 0; i < Bytes; ++i) {
      b[i] = static_cast<std::uint8_t>(v >> (8 * (Bytes - 1 - i)));
    }
    raw(b);
  }
  crypto_generichash_state state_;
};

// Every field of the entry but `mac`, prev_mac last: what both versions of the entry MAC cover
// after their domain string (and, from version 2, the store id).
inline void encode_entry_fields(AuditMacEncoder& enc, const AuditRecord& e) {
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
}

// Version 1, without the store id: how entries
// written before their store had an AuditBinding were MACed (below its bound_from), kept so that
// they still verify.
inline AuditMac audit_entry_mac_unbound(const SecretBytes& key, const AuditRecord& e) {
  AuditMacEncoder enc(key);
  enc.text("veribind.audit.entry.v1");
  encode_entry_fields(enc, e);
  return enc.finish();
}

inline AuditMac audit_head_mac_unbound(const SecretBytes& key, const AuditHead& h) {
  AuditMacEncoder enc(key);
  enc.text("veribind.audit.head.v1");
  enc.u64(h.count);
  enc.raw(h.last_mac);
  enc.u32(h.mac_key_version);
  return enc.finish();
}

// Version 2: the store id first, then the fields as in version 1. An entry copied into another
// store (another id) no longer matches its MAC there.
inline AuditMac audit_entry_mac_bound(const SecretBytes& key, const AuditBinding& binding,
                                      const AuditRecord& e) {
  AuditMacEncoder enc(key);
  enc.text("veribind.audit.entry.v2");
  enc.raw(binding.store_id);
  encode_entry_fields(enc, e);
  return enc.finish();
}

// The head also names where binding started, so that neither part of the binding can be moved.
inline AuditMac audit_head_mac_bound(const SecretBytes& key, const AuditBinding& binding,
                                     const AuditHead& h) {
  AuditMacEncoder enc(key);
  enc.text("veribind.audit.head.v2");
  enc.raw(binding.store_id);
  enc.u64(binding.bound_from);
  enc.raw(binding.unbound_last_mac);
  enc.u64(h.count);
  enc.raw(h.last_mac);
  enc.u32(h.mac_key_version);
  return enc.finish();
}

// The MAC an entry at `e.sequence` must carry in a store with `binding`.
inline AuditMac audit_entry_mac(const SecretBytes& key, const AuditBinding& binding,
                                const AuditRecord& e) {
  return e.sequence >= binding.bound_from ? audit_entry_mac_bound(key, binding, e)
                                          : audit_entry_mac_unbound(key, e);
}

// A head that counts no bound entry yet was written before the binding (or is the head of an
// upgraded log nobody appended to since).
inline AuditMac audit_head_mac(const SecretBytes& key, const AuditBinding& binding,
                               const AuditHead& h) {
  return h.count >= binding.bound_from ? audit_head_mac_bound(key, binding, h)
                                       : audit_head_mac_unbound(key, h);
}

// Appends `entry` (its time, request, index, channel and count filled in) to the log: gives it the
// next sequence number, chains it on the current head, MACs it and the new head with `key` and
// the store's binding
// (the audit subkey of `key_version`), and has the store commit both atomically. Another writer
// appending first makes the store report a conflict; the entry is then rebuilt on the new head,
// a bounded number of times (kUnavailable after). kAuditLogCorrupt, appending nothing, if the head
// is behind the point where the store was bound (the log was cut back). Returns the entry as
// stored. Defined in
// src/account/audit.cpp.
[[nodiscard]] Result<AuditRecord> append_audit_entry(AuditStore& store, const SecretBytes& key,
                                                     std::uint32_t key_version, AuditRecord entry);

// Constant time, as every MAC comparison must be.
[[nodiscard]] inline bool same_mac(const AuditMac& a, const AuditMac& b) noexcept {
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace veribind::internal
