#include "delivery/internal/secret_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "internal/fd.hpp"
#include "internal/wipe.hpp"

namespace veribind::internal {

namespace {

constexpr off_t kMaxSecretFile = 64 * 1024;

Status bad(std::string_view field, std::string_view why) {
  return {ErrorCode::kInvalidConfig, std::string(field) + ": " + std::string(why)};
}

}  // namespace

Result<SecretText> read_secret_file(const std::string& path, std::string_view field,
                                    TrailingNewline newline) {
  if (path.empty()) return bad(field, "is required");
  // O_NOFOLLOW: a link would let whoever owns it choose the secret; O_NONBLOCK: a FIFO opens at
  // once and is refused below instead of blocking create().
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ELOOP) return bad(field, "is a symbolic link; refusing it");
    return bad(field, "cannot be opened");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return bad(field, "is not a regular file");
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return Status(
        ErrorCode::kKeyFileInsecure,
        std::string(field) + ": file is accessible by group or others; run chmod 600 on it");
  }
  if (st.st_size > kMaxSecretFile) return bad(field, "file is larger than 64 KiB");
  std::string buffer;
  WipeOnExit wipe_buffer(buffer);
  // Sized once, one byte over, so that reading never reallocates (leaving an unwiped copy) and
  // a file that grew since fstat is noticed.
  buffer.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t got = 0;
  while (got < buffer.size()) {
    const ssize_t n = ::read(fd.get(), buffer.data() + got, buffer.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return bad(field, "cannot be read");
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > static_cast<std::size_t>(st.st_size)) return bad(field, "changed while being read");
  std::string_view text(buffer.data(), got);
  if (newline == TrailingNewline::kStrip && !text.empty() && text.back() == '\n') {
    text.remove_suffix(1);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  }
  if (text.empty()) return bad(field, "is empty");
  return SecretText::copy_of(text);
}

}  // namespace veribind::internal
