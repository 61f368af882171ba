#include "runtime/cancel.h"

namespace ga {
namespace {
thread_local const CancelToken* tl_cancel_token = nullptr;
}

const CancelToken* current_cancel_token() { return tl_cancel_token; }
void set_current_cancel_token(const CancelToken* token) { tl_cancel_token = token; }

}  // namespace ga
