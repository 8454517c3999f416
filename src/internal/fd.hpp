// Fd: a file descriptor closed on every path out. For the key files and the delivery secret files,
// which are opened with O_NOFOLLOW and checked with fstat on the descriptor itself.
#pragma once

#include <unistd.h>

#include <utility>

namespace veribind::internal {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&&) = delete;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace veribind::internal
