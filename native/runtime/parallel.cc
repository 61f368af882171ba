#include "runtime/parallel.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
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

bool have_openmp() { return false; }  // threads: HelperPool below

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

namespace {

// One parallel_items region as its helper threads see it. A helper runs body(tid) only if it
// arrives while the region is open; the calling thread closes it once it has no items left and
// waits only for the helpers inside. A helper that arrives later leaves at once: nothing waits
// for a thread that is slow to wake (under a hypervisor an idle vCPU's thread took ~4 ms to
// join an OpenMP team; a 2 ms decode step on two threads then took 6 ms), and the items it
// would have taken were pulled by the threads already running (a dynamic schedule).
struct Region {
  const std::function<void(int)>* run = nullptr;  // valid while open or while active > 0
  std::mutex mu;
  std::condition_variable cv;
  bool open = true;
  int active = 0;  // helpers inside run
};

// Process-wide helper threads, started on demand and kept (never destroyed: they may still be
// waiting when the process exits). post() hands a task (region, tid) to one idle helper, or
// starts one; with kMaxHelpers busy it drops the task (the region runs on fewer threads).
//
// Where a woken helper runs: Linux places a woken thread on the waker's CPU when it takes the
// other CPUs for busy, and under a hypervisor an idle vCPU can look so (preempted). The helper
// then waited for the calling thread's time slice: ~2-4 ms after an idle period here, longer
// than a decode step. So post() keeps the helper off the calling thread's CPU (its affinity is
// the process's CPUs less that one; set again only when the caller's CPU changes): the
// wake-up goes to another CPU, ~80 us after 60 ms idle instead of ~2 ms.
//
// A helper that finishes a task polls for the next one for 1 ms before it sleeps, since a model
// step runs many short regions back to back; the poll loads an atomic without PAUSE (a long PAUSE
// loop is what a hypervisor deschedules).
class HelperPool {
 public:
  static HelperPool& get() {
    static HelperPool* pool = new HelperPool;  // leaked on purpose (see above)
    return *pool;
  }

  void post(const std::shared_ptr<Region>& r, int tid) {
    Helper* h = nullptr;
    bool start = false;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (!idle_.empty()) {
        h = idle_.back();
        idle_.pop_back();
      } else if (helpers_ < kMaxHelpers) {
        ++helpers_;
        h = new Helper;  // lives as long as its thread: forever
        start = true;
      } else {
        return;
      }
    }
    {
      std::lock_guard<std::mutex> lk(h->mu);
      h->task = {r, tid};
      h->has_task.store(true, std::memory_order_release);
    }
    if (start) {  // it keeps itself off this CPU (its handle is its own until it first goes idle)
      const int cpu = current_cpu();
      std::thread([this, h, cpu] {
        h->thread = pthread_self_handle();
        keep_off(*h, cpu);
        serve(h);
      }).detach();
      return;
    }
    keep_off(*h, current_cpu());
    h->cv.notify_one();
  }

 private:
  struct Task {
    std::shared_ptr<Region> region;
    int tid = 0;
  };
  struct Helper {
    std::mutex mu;
    std::condition_variable cv;
    std::atomic<bool> has_task{false};
    Task task;                                 // under mu, set before has_task
    std::thread::native_handle_type thread{};  // set by the helper before it first goes idle
    int off_cpu = -1;                          // the CPU its affinity leaves out (-1: none yet); its poster's to touch
  };
  static constexpr int kMaxHelpers = 1024;  // a bound on threads, not on correctness
  static constexpr auto kPoll = std::chrono::microseconds(1000);

  static int current_cpu() {
#if defined(__linux__)
    return sched_getcpu();
#else
    return -1;
#endif
  }
  static std::thread::native_handle_type pthread_self_handle() {
#if defined(__linux__)
    return pthread_self();
#else
    return {};
#endif
  }

  // Sets h's affinity to the process's CPUs but `cpu` (its poster's), unless it is so already.
  static void keep_off(Helper& h, int cpu) {
#if defined(__linux__)
    if (cpu < 0 || cpu == h.off_cpu || cpu >= CPU_SETSIZE) return;
    h.off_cpu = cpu;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0 || !CPU_ISSET(cpu, &set) || CPU_COUNT(&set) < 2) return;
    CPU_CLR(cpu, &set);
    pthread_setaffinity_np(h.thread, sizeof set, &set);  // a hint: failure changes nothing else
#else
    (void)h;
    (void)cpu;
#endif
  }

  static Task next(Helper& h) {
    const auto until = std::chrono::steady_clock::now() + kPoll;
    for (int i = 1; !h.has_task.load(std::memory_order_acquire); ++i)
      if (i % 64 == 0 && std::chrono::steady_clock::now() >= until) break;
    std::unique_lock<std::mutex> lk(h.mu);
    h.cv.wait(lk, [&] { return h.has_task.load(std::memory_order_relaxed); });
    h.has_task.store(false, std::memory_order_relaxed);
    return std::move(h.task);
  }

  void serve(Helper* h) {
    for (;;) {
      Task t = next(*h);
      Region& r = *t.region;
      bool entered = false;
      {
        std::lock_guard<std::mutex> lk(r.mu);
        if (r.open) {  // else late: the calling thread has finished the items
          ++r.active;
          entered = true;
        }
      }
      if (entered) {
        (*r.run)(t.tid);
        std::lock_guard<std::mutex> lk(r.mu);
        if (--r.active == 0) r.cv.notify_all();
      }
      t.region.reset();  // before going idle: the region's memory is not held by an idle helper
      std::lock_guard<std::mutex> lk(mu_);
      idle_.push_back(h);
    }
  }

  std::mutex mu_;
  std::vector<Helper*> idle_;  // helpers with no task
  int helpers_ = 0;
};

}  // namespace

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
  const std::function<void(int)> guarded = [&](int tid) {
    CancelScope scope(token);                    // kernels poll cancel_requested() in every thread
    tl_yield_lease = tid > 0 ? lease : nullptr;  // helpers may give their slot back
    try {
      RegionDepth depth;
      body(tid, counter);
    } catch (...) {
      std::lock_guard<std::mutex> lk(err_mu);
      if (!err) err = std::current_exception();
    }
    tl_yield_lease = nullptr;  // pool threads outlive the region
  };
  auto region = std::make_shared<Region>();
  region->run = &guarded;
  for (int tid = 1; tid < t; ++tid) HelperPool::get().post(region, tid);
  guarded(0);
  {
    // body(0) returns when no item is left to hand out (or the call was cancelled: the others stop
    // within an item), or it threw (the error is rethrown below; helpers inside finish their
    // items). Close the region and wait only for the helpers inside it.
    std::unique_lock<std::mutex> lk(region->mu);
    region->open = false;
    region->cv.wait(lk, [&] { return region->active == 0; });
  }
  if (err) std::rethrow_exception(err);
  throw_if_cancelled();
}

}  // namespace ga
