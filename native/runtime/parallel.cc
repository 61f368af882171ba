#include "runtime/parallel.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>
#ifdef GA_HAVE_OPENMP
#include <omp.h>
#endif

namespace ga {
namespace {
std::mutex g_mu;
std::condition_variable g_cv;
int g_budget = 0;  // 0 = not yet initialised
int g_in_use = 0;
int g_waiting = 0;  // calls waiting in ThreadLease's constructor
thread_local ThreadLease* tl_lease = nullptr;
// Set by parallel_items in each helper thread (tid > 0) of a region under a lease: that thread
// may give its slot back to a waiting call instead of taking another item.
thread_local ThreadLease* tl_yield_lease = nullptr;
// parallel_items bodies this thread is running (> 0: a nested parallel_items runs serially).
thread_local int tl_region_depth = 0;
struct RegionDepth {
  RegionDepth() { ++tl_region_depth; }
  ~RegionDepth() { --tl_region_depth; }
};

int budget_locked() {
  if (g_budget <= 0) g_budget = hardware_threads();
  return g_budget;
}
}  // namespace

int hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

int thread_budget() {
  std::lock_guard<std::mutex> lk(g_mu);
  return budget_locked();
}

void set_thread_budget(int n) {
  std::lock_guard<std::mutex> lk(g_mu);
  g_budget = n < 1 ? hardware_threads() : n;
  g_cv.notify_all();
}

bool have_openmp() {
#ifdef GA_HAVE_OPENMP
  return true;
#else
  return false;
#endif
}

namespace detail {
std::atomic<int> g_waiting_hint{0};  // g_waiting, readable without the lock
}
using detail::g_waiting_hint;

ThreadLease* current_lease() { return tl_lease; }
bool in_parallel_items() { return tl_region_depth > 0; }

bool yield_helper_slot() {
  if (tl_yield_lease == nullptr || !tl_yield_lease->yield_one()) return false;
  tl_yield_lease = nullptr;
  return true;
}

ThreadLease::ThreadLease(int want) : granted_(0), n_(0), prev_(tl_lease) {
  std::unique_lock<std::mutex> lk(g_mu);
  int budget = budget_locked();
  if (want < 1 || want > budget) want = budget;
  // Wait until at least one thread is free (running calls give threads back meanwhile); then
  // take what is free, up to want. An aborted call stops waiting (the abort does not notify
  // g_cv: poll it).
  if (g_in_use >= budget_locked()) {
    ++g_waiting;
    g_waiting_hint.store(g_waiting, std::memory_order_relaxed);
    bool aborted = false;
    while (!g_cv.wait_for(lk, std::chrono::milliseconds(5), [&] { return g_in_use < budget_locked(); }))
      if (cancel_requested()) {
        aborted = true;
        break;
      }
    --g_waiting;
    g_waiting_hint.store(g_waiting, std::memory_order_relaxed);
    if (aborted) throw Cancelled();
  }
  // While others wait, take one thread: they get the rest as it frees up.
  const int n = g_waiting > 0 ? 1 : std::max(1, std::min(want, budget_locked() - g_in_use));
  granted_ = n;
  n_.store(n, std::memory_order_relaxed);
  g_in_use += n;
  tl_lease = this;
}

ThreadLease::~ThreadLease() {
  tl_lease = prev_;
  std::lock_guard<std::mutex> lk(g_mu);
  g_in_use -= n_.load(std::memory_order_relaxed);
  g_cv.notify_all();
}

bool ThreadLease::yield_one() {
  std::lock_guard<std::mutex> lk(g_mu);
  const int n = n_.load(std::memory_order_relaxed);
  if (g_waiting == 0 || n <= 1) return false;
  n_.store(n - 1, std::memory_order_relaxed);
  --g_in_use;
  g_cv.notify_all();
  return true;
}

int ThreadLease::regrow() {
  std::lock_guard<std::mutex> lk(g_mu);
  int n = n_.load(std::memory_order_relaxed);
  if (g_waiting == 0 && n < granted_) {
    const int more = std::min(granted_ - n, budget_locked() - g_in_use);
    if (more > 0) {
      n += more;
      g_in_use += more;
      n_.store(n, std::memory_order_relaxed);
    }
  }
  return n;
}

void parallel_items(int64_t n_items, int threads, const std::function<void(int, ItemCounter&)>& body) {
  if (n_items <= 0) return;
  int t = in_parallel_items() ? 1 : static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, n_items)));
  // Under a lease, never more threads than it holds now (it may have given some back).
  ThreadLease* lease = current_lease();
  if (lease != nullptr && t > 1) t = std::max(1, std::min(t, lease->regrow()));
  ItemCounter counter(n_items);
  if (t == 1) {
    {
      RegionDepth depth;
      body(0, counter);
    }
    throw_if_cancelled();
    return;
  }
  const CancelToken* token = current_cancel_token();
  // Exceptions must not cross a thread boundary: capture the first and rethrow here.
  std::exception_ptr err;
  std::mutex err_mu;
  // A helper that gave its slot back must not spin at the region's closing barrier (OpenMP
  // threads spin there) while another call uses that core: it sleeps until the threads still
  // working are done.
  std::condition_variable all_done;
  int working = t;
  auto guarded = [&](int tid) {
    CancelScope scope(token);                    // kernels poll cancel_requested() in every thread
    tl_yield_lease = tid > 0 ? lease : nullptr;  // helpers may give their slot back
    try {
      RegionDepth depth;
      body(tid, counter);
    } catch (...) {
      std::lock_guard<std::mutex> lk(err_mu);
      if (!err) err = std::current_exception();
    }
    const bool yielded = tid > 0 && lease != nullptr && tl_yield_lease == nullptr;
    tl_yield_lease = nullptr;  // pool threads outlive the region
    std::unique_lock<std::mutex> lk(err_mu);
    if (--working == 0) all_done.notify_all();
    else if (yielded) all_done.wait(lk, [&] { return working == 0; });
  };
#ifdef GA_HAVE_OPENMP
#pragma omp parallel num_threads(t)
  { guarded(omp_get_thread_num()); }
#else
  std::vector<std::thread> pool;
  pool.reserve(t - 1);
  for (int i = 1; i < t; ++i) pool.emplace_back(guarded, i);
  guarded(0);
  for (auto& th : pool) th.join();
#endif
  if (err) std::rethrow_exception(err);
  throw_if_cancelled();
}

}  // namespace ga
