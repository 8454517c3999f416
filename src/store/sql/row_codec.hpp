// What both SQL backends share about rows: the column lists (the two schemas use the same table
// and column names), time as integer milliseconds, and one decoder per record type with every
// range check. Each backend supplies a row reader for its client library:
//
//   bool integer(int column, std::int64_t& out) const;      // false if NULL or not an integer
//   bool bytes(int column, std::span<std::uint8_t> out) const;  // false unless exactly out.size()
//   bool any_bytes(int column, std::span<const std::uint8_t>& out) const;  // false if NULL
//   bool text(int column, std::string_view& out) const;     // false if NULL
//   bool flag(int column, bool& out) const;                 // a 0/1 integer or a boolean
//
// The tables' CHECK constraints hold the same ranges; decoding defensively keeps a row edited
// behind the database's back from becoming an out-of-range enum.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include "veribind/account_store.hpp"
#include "veribind/audit_store.hpp"
#include "veribind/verification_store.hpp"

namespace veribind::sql {

inline constexpr const char* kChallengeColumns =
    "id, code_tag, blind_index, key_version, expires_at, purpose, channel, phone_type, region, "
    "attempts, max_attempts, provider_canonical, calling_code";
inline constexpr int kChallengeColumnCount = 13;

inline constexpr const char* kBindingColumns =
    "account_id, blind_index, key_version, channel, created_at, sealed_contact";

inline constexpr const char* kAuditColumns =
    "sequence, time, authority, reference, legal_basis, requested_by, blind_index, key_version, "
    "channel, accounts_returned, mac_key_version, prev_mac, mac";

inline constexpr const char* kAuditHeadColumns = "count, last_mac, mac_key_version, mac";
inline constexpr const char* kAuditBindingColumns =
    "store_id, audit_bound_from, audit_unbound_last_mac";

inline std::int64_t to_ms(Timestamp t) { return t.time_since_epoch().count(); }
inline Timestamp from_ms(std::int64_t ms) { return Timestamp(std::chrono::milliseconds(ms)); }

// A batch size or limit as the integer SQL takes, clamped to what it can hold.
inline std::int64_t clamp_limit(std::size_t n) {
  return n > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())
             ? std::numeric_limits<std::int64_t>::max()
             : static_cast<std::int64_t>(n);
}

template <typename Int, typename Row>
bool read_in_range(const Row& row, int column, std::int64_t low, std::int64_t high, Int& out) {
  std::int64_t v = 0;
  if (!row.integer(column, v) || v < low || v > high) return false;
  out = static_cast<Int>(v);
  return true;
}

template <typename Row>
bool read_u32(const Row& row, int column, std::uint32_t& out) {
  return read_in_range(row, column, 0, std::numeric_limits<std::uint32_t>::max(), out);
}

template <typename Row>
bool read_channel(const Row& row, int column, Channel& out) {
  std::int64_t v = 0;
  if (!row.integer(column, v) || (v != static_cast<std::int64_t>(Channel::kPhone) &&
                                  v != static_cast<std::int64_t>(Channel::kEmail))) {
    return false;
  }
  out = static_cast<Channel>(v);
  return true;
}

template <typename Row>
bool read_time(const Row& row, int column, Timestamp& out) {
  std::int64_t ms = 0;
  if (!row.integer(column, ms)) return false;
  out = from_ms(ms);
  return true;
}

template <typename Row>
bool read_string(const Row& row, int column, std::string& out) {
  std::string_view text;
  if (!row.text(column, text)) return false;
  out.assign(text);
  return true;
}

// A row laid out as kChallengeColumns from column `first` on; false if any value is out of shape.
template <typename Row>
bool decode_challenge(const Row& row, int first, ChallengeRecord& r) {
  std::uint8_t purpose = 0, phone_type = 0;
  std::string_view region;
  if (!row.bytes(first, r.id.bytes) || !row.bytes(first + 1, r.code_tag) ||
      !row.bytes(first + 2, r.index.value) || !read_u32(row, first + 3, r.index.key_version) ||
      !read_time(row, first + 4, r.expires_at) || !read_in_range(row, first + 5, 1, 4, purpose) ||
      !read_channel(row, first + 6, r.channel) ||
      !read_in_range(row, first + 7, 0, static_cast<std::int64_t>(PhoneType::kUnknown),
                     phone_type) ||
      !row.text(first + 8, region) || !read_in_range(row, first + 9, 0, 255, r.attempts) ||
      !read_in_range(row, first + 10, 0, 255, r.max_attempts) ||
      !row.flag(first + 11, r.provider_canonical) ||
      !read_in_range(row, first + 12, 0, 999, r.calling_code)) {
    return false;
  }
  r.purpose = static_cast<Purpose>(purpose);
  r.phone_type = static_cast<PhoneType>(phone_type);
  const auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  if (!is_valid_purpose(r.purpose) || region.size() != 2 || !upper(region[0]) ||
      !upper(region[1]) || r.attempts > r.max_attempts) {
    return false;
  }
  r.region = {region[0], region[1]};
  return true;
}

// A row laid out as kBindingColumns from column `first` on; a NULL sealed contact is an empty one.
template <typename Row>
bool decode_binding(const Row& row, int first, BindingRecord& r) {
  if (!read_string(row, first, r.account_id) || !row.bytes(first + 1, r.index.value) ||
      !read_u32(row, first + 2, r.index.key_version) || !read_channel(row, first + 3, r.channel) ||
      !read_time(row, first + 4, r.created_at)) {
    return false;
  }
  r.sealed_contact.clear();
  std::span<const std::uint8_t> sealed;
  if (row.any_bytes(first + 5, sealed)) {
    if (sealed.empty()) return false;  // none is stored as NULL, never as an empty value
    r.sealed_contact.assign(sealed.begin(), sealed.end());
  }
  return true;
}

// A row laid out as kAuditColumns from column `first` on.
template <typename Row>
bool decode_audit(const Row& row, int first, AuditRecord& r) {
  return read_in_range(row, first, 1, std::numeric_limits<std::int64_t>::max(), r.sequence) &&
         read_time(row, first + 1, r.time) && read_string(row, first + 2, r.authority) &&
         read_string(row, first + 3, r.reference) && read_string(row, first + 4, r.legal_basis) &&
         read_string(row, first + 5, r.requested_by) && row.bytes(first + 6, r.index.value) &&
         read_u32(row, first + 7, r.index.key_version) && read_channel(row, first + 8, r.channel) &&
         read_u32(row, first + 9, r.accounts_returned) &&
         read_u32(row, first + 10, r.mac_key_version) && row.bytes(first + 11, r.prev_mac) &&
         row.bytes(first + 12, r.mac);
}

// A row laid out as kAuditHeadColumns from column `first` on.
template <typename Row>
bool decode_audit_head(const Row& row, int first, AuditHead& h) {
  return read_in_range(row, first, 0, std::numeric_limits<std::int64_t>::max(), h.count) &&
         row.bytes(first + 1, h.last_mac) && read_u32(row, first + 2, h.mac_key_version) &&
         row.bytes(first + 3, h.mac);
}

// The store's AuditBinding from column `first` on (kAuditBindingColumns).
template <typename Row>
bool decode_audit_binding(const Row& row, int first, AuditBinding& b) {
  return row.bytes(first, b.store_id) &&
         read_in_range(row, first + 1, 1, std::numeric_limits<std::int64_t>::max(), b.bound_from) &&
         row.bytes(first + 2, b.unbound_last_mac);
}

// A counter row's two columns (count, window end) from column `first` on.
template <typename Row>
bool decode_counter(const Row& row, int first, CounterState& c) {
  return read_in_range(row, first, 1, std::numeric_limits<std::uint32_t>::max(), c.count) &&
         read_time(row, first + 1, c.window_end);
}

// A counter row that a step returned: its count and window end, or {0, {}} for a count of 0 (a
// counter only delta-0 steps touched reads as absent).
template <typename Row>
bool decode_counter_or_none(const Row& row, int first, CounterState& c) {
  std::int64_t count = 0;
  if (!row.integer(first, count)) return false;
  if (count == 0) {
    c = {};
    return true;
  }
  return decode_counter(row, first, c);
}

// Why a charge that changed no row missed, from the challenge's state read in the same atomic
// step (nullopt: no such row).
inline ChargeOutcome classify_miss(const std::optional<ChallengeRecord>& r, Timestamp now) {
  if (!r) return ChargeOutcome::kNotFound;
  if (now >= r->expires_at) return ChargeOutcome::kExpired;
  return ChargeOutcome::kExhausted;
}

}  // namespace veribind::sql
