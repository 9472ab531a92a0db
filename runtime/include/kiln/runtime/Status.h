//===- Status.h - Errors a user can cause, and values that may fail -------===//
//
// The runtime reports failures a user can cause (a missing or corrupt file, a
// tensor of the wrong shape) as a Status carrying a message, never with an
// assert or abort. StatusOr<T> holds either a value or the error that
// prevented producing it. Misusing the API itself (reading the value of a
// failed StatusOr) is a programming error and stops the process with a
// message.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_STATUS_H
#define KILN_RUNTIME_STATUS_H

#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace kiln::rt {

namespace detail {
/// Prints `message` to stderr and aborts: for programming errors only.
[[noreturn]] void fatalError(const std::string &message);
} // namespace detail

/// The outcome of an operation that returns no value: success, or an error
/// with a message meant for the user.
class [[nodiscard]] Status {
public:
  /// A successful status (same as `success()`).
  Status() = default;

  /// A successful status. (Named `success` rather than `ok` because a static
  /// and a non-static member function cannot share a name and signature.)
  static Status success() { return Status(); }

  /// A failure with `message`. An empty message is replaced by
  /// "unknown error" so that an error is never mistaken for success.
  static Status error(std::string message);

  /// True if this status is a success.
  bool ok() const { return !failed; }

  /// The error message; empty for a success.
  const std::string &message() const { return text; }

  /// A copy of this error whose message starts with `prefix` (a success
  /// stays a success). Used to add context: "reading 'x.npy': ...".
  Status withPrefix(const std::string &prefix) const;

private:
  bool failed = false;
  std::string text;
};

/// Either a value of type T or the error Status that prevented producing it.
template <typename T> class [[nodiscard]] StatusOr {
  static_assert(!std::is_same_v<std::decay_t<T>, Status>,
                "StatusOr<Status> is meaningless");

public:
  /// A successful result holding `value`.
  StatusOr(T value) : stored(std::move(value)) {}

  /// A failed result. `status` must be an error: passing a success is a
  /// programming error and is turned into an error status saying so.
  StatusOr(Status status) : state(std::move(status)) {
    if (state.ok())
      state = Status::error("internal error: StatusOr built from a success "
                            "status without a value");
  }

  /// True if a value is held.
  bool ok() const { return stored.has_value(); }

  /// The error (a success status when a value is held).
  const Status &status() const { return state; }

  /// The held value. Calling this on a failed result is a programming error.
  T &value() & {
    checked();
    return *stored;
  }
  const T &value() const & {
    checked();
    return *stored;
  }
  T &&value() && {
    checked();
    return std::move(*stored);
  }

  T &operator*() & { return value(); }
  const T &operator*() const & { return value(); }
  T *operator->() { return &value(); }
  const T *operator->() const { return &value(); }

private:
  void checked() const {
    if (!stored)
      detail::fatalError("StatusOr::value() called on an error: " +
                         state.message());
  }

  std::optional<T> stored;
  Status state;
};

} // namespace kiln::rt

#endif // KILN_RUNTIME_STATUS_H
