#include "veribind/secret.hpp"

#include <sodium.h>

#include <cstring>
#include <utility>

#include "internal/sodium.hpp"

namespace veribind {

SecretBytes::SecretBytes(std::size_t size) : size_(size) {
  internal::ensure_sodium();
  if (size_ == 0) return;
  data_ = new std::uint8_t[size_]();
  // Best effort: RLIMIT_MEMLOCK may forbid it, and a key must still work then.
  locked_ = sodium_mlock(data_, size_) == 0;
}

SecretBytes SecretBytes::copy_of(std::span<const std::uint8_t> bytes) {
  SecretBytes s(bytes.size());
  if (!bytes.empty()) std::memcpy(s.data_, bytes.data(), bytes.size());
  return s;
}

SecretBytes SecretBytes::random(std::size_t size) {
  SecretBytes s(size);
  if (size > 0) randombytes_buf(s.data_, size);
  return s;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      locked_(std::exchange(other.locked_, false)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    locked_ = std::exchange(other.locked_, false);
  }
  return *this;
}

SecretBytes::~SecretBytes() { release(); }

void SecretBytes::release() noexcept {
  if (data_ == nullptr) return;
  if (locked_) {
    sodium_munlock(data_, size_);  // zeroes before unlocking
  } else {
    sodium_memzero(data_, size_);
  }
  delete[] data_;
  data_ = nullptr;
  size_ = 0;
  locked_ = false;
}

bool SecretBytes::operator==(const SecretBytes& other) const noexcept {
  if (size_ != other.size_) return false;
  if (size_ == 0) return true;
  return sodium_memcmp(data_, other.data_, size_) == 0;
}

SecretText SecretText::copy_of(std::string_view text) {
  SecretText t;
  t.bytes_ =
      SecretBytes::copy_of({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
  return t;
}

}  // namespace veribind
