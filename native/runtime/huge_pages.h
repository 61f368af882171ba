// A hint that a large buffer be backed by transparent huge pages: for buffers read in full again
// and again (a KVCache's keys and values: every decode step streams all of them), where 4 KiB pages
// cost a TLB miss (a nested page walk under a hypervisor) every 4 KiB, and for large scratch
// first-touched in full (AlignedBuffer: one page fault per 2 MiB instead of per 4 KiB). Only pages not
// yet touched are faulted in as huge pages (THP in "madvise" or "always" mode), so advise a buffer
// right after allocating it. Linux only; elsewhere, and where THP is off, it changes nothing.
#pragma once
#include <cstddef>

namespace ga {

// Advises the whole 2 MiB-aligned huge pages inside [p, p + bytes); returns whether there was one
// and the system took the hint. The memory's contents are unchanged.
bool advise_huge_pages(void* p, size_t bytes);

}  // namespace ga
