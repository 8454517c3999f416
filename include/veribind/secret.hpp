// SecretBytes: the one owning type for key material.
//
// Move-only; the bytes live in memory that is locked against swapping where the system allows it
// and are wiped (sodium_memzero) when the object is destroyed or moved from. Comparison is constant
// time. There is no stream operator and no implicit conversion: reading the bytes goes through
// reveal(), which is easy to grep for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace veribind {

class SecretBytes {
 public:
  SecretBytes() = default;
  // Allocates `size` bytes, zero-filled.
  explicit SecretBytes(std::size_t size);
  // Copies `bytes` in. The caller still owns (and should wipe) its copy.
  static SecretBytes copy_of(std::span<const std::uint8_t> bytes);
  // `size` bytes from libsodium's CSPRNG.
  static SecretBytes random(std::size_t size);

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  // The secret itself. Keep the span no longer than the SecretBytes, and never log it.
  [[nodiscard]] std::span<const std::uint8_t> reveal() const noexcept { return {data_, size_}; }
  [[nodiscard]] std::span<std::uint8_t> reveal_mutable() noexcept { return {data_, size_}; }

  // Constant time in the contents; sizes are not secret.
  [[nodiscard]] bool operator==(const SecretBytes& other) const noexcept;

 private:
  void release() noexcept;
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  bool locked_ = false;
};

// SecretText: text that must not outlive its use (a rendered message holding a code, a
// destination address). Owns a SecretBytes, so it is move-only, locked where allowed and wiped.
class SecretText {
 public:
  SecretText() = default;
  // Copies `text` in. The caller still owns its copy.
  static SecretText copy_of(std::string_view text);

  [[nodiscard]] std::size_t size() const noexcept { return bytes_.size(); }
  [[nodiscard]] bool empty() const noexcept { return bytes_.empty(); }
  // The text itself. Keep the view no longer than the SecretText, and never log it.
  [[nodiscard]] std::string_view reveal() const noexcept {
    const auto b = bytes_.reveal();
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }

 private:
  SecretBytes bytes_;
};

}  // namespace veribind
