#include "runtime/cancel.h"

namespace ga {
namespace detail {
thread_local const CancelToken* tl_cancel_token = nullptr;
}
}  // namespace ga
