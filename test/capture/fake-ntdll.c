// A stand-in for ntdll's NtQuerySystemInformation, built at test time (test/capture/native.test.ts) so
// the koffi binding in src/capture/windows.ts runs for real on Linux x64. The structures are declared as
// C compiles them on x64, which is the 64-bit Windows layout (LLP64 and LP64 agree for these fields),
// and the static asserts pin the offsets the decoder expects rather than trusting the compiler's choice.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define STATUS_SUCCESS 0x00000000u
#define STATUS_INVALID_INFO_CLASS 0xC0000003u
#define STATUS_INFO_LENGTH_MISMATCH 0xC0000004u

#define SYSTEM_POOLTAG_INFORMATION 22u
#define SYSTEM_POOLTAG_INFORMATION2 255u
#define SYSTEM_SESSION_POOLTAG_INFORMATION 67u
#define ALL_SESSIONS 0xFFFFFFFFu

#define TAG(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define GIB ((size_t)1 << 30)

typedef struct {
  uint32_t Tag;
  uint32_t PagedAllocs;
  uint32_t PagedFrees;
  size_t PagedUsed;
  uint32_t NonPagedAllocs;
  uint32_t NonPagedFrees;
  size_t NonPagedUsed;
} SYSTEM_POOLTAG;

typedef struct {
  uint32_t Count;
  SYSTEM_POOLTAG TagInfo[];
} SYSTEM_POOLTAG_INFORMATION_T;

// Class 255 (SystemPoolTagInformation2): every counter SIZE_T.
typedef struct {
  uint32_t Tag;
  size_t PagedAllocs;
  size_t PagedFrees;
  size_t PagedUsed;
  size_t NonPagedAllocs;
  size_t NonPagedFrees;
  size_t NonPagedUsed;
} SYSTEM_POOLTAG2;

typedef struct {
  uint32_t Count;
  SYSTEM_POOLTAG2 TagInfo[];
} SYSTEM_POOLTAG_INFORMATION2_T;

typedef struct {
  size_t NextEntryOffset;
  uint32_t SessionId;
  uint32_t Count;
  SYSTEM_POOLTAG TagInfo[];
} SYSTEM_SESSION_POOLTAG_INFORMATION_T;

typedef struct {
  uint32_t SessionId;
  uint32_t SizeOfBuf;
  void *Buffer;
} SYSTEM_SESSION_PROCESS_INFORMATION;

_Static_assert(sizeof(SYSTEM_POOLTAG) == 0x28, "SYSTEM_POOLTAG is 0x28 bytes on 64-bit");
_Static_assert(offsetof(SYSTEM_POOLTAG, PagedUsed) == 16, "PagedUsed after 4 bytes of padding");
_Static_assert(offsetof(SYSTEM_POOLTAG, NonPagedAllocs) == 24, "NonPagedAllocs");
_Static_assert(offsetof(SYSTEM_POOLTAG, NonPagedUsed) == 32, "NonPagedUsed");
_Static_assert(offsetof(SYSTEM_POOLTAG_INFORMATION_T, TagInfo) == 8, "class 22 array at +8");
_Static_assert(sizeof(SYSTEM_POOLTAG2) == 0x38, "SYSTEM_POOLTAG2 is 0x38 bytes on 64-bit");
_Static_assert(offsetof(SYSTEM_POOLTAG2, PagedAllocs) == 8, "class 255 counters after 4 bytes of padding");
_Static_assert(offsetof(SYSTEM_POOLTAG2, NonPagedUsed) == 48, "NonPagedUsed");
_Static_assert(offsetof(SYSTEM_POOLTAG_INFORMATION2_T, TagInfo) == 8, "class 255 array at +8");
_Static_assert(offsetof(SYSTEM_SESSION_POOLTAG_INFORMATION_T, TagInfo) == 16, "class 67 array at +16");
_Static_assert(sizeof(SYSTEM_SESSION_PROCESS_INFORMATION) == 16, "class 67 header is 16 bytes");

static const SYSTEM_POOLTAG system_tags[] = {
  // More than 4 GiB outstanding in one tag: only a 64-bit SIZE_T read gives these numbers back.
  {TAG('P', 'r', 'o', 'c'), 12, 4, 8 * 4096, 5000123, 4000000, 5 * GIB + 12345},
  // PagedAllocs wrapped past 2^32 while PagedFrees has not yet: 0x10 - 0xFFFFFFF0 is 32 mod 2^32.
  {TAG('W', 'r', 'a', 'p'), 0x10, 0xFFFFFFF0u, 32 * 64, 0, 0, 0},
  {TAG('I', 'o', ' ', ' '), 0, 0, 0, 77, 70, 7 * 256},
  {TAG('M', 'm', 'S', 't'), 300, 100, 200 * 1024, 0, 0, 0},
};

static const SYSTEM_POOLTAG session0_tags[] = {
  {TAG('G', 'h', '0', '5'), 9, 3, 6 * 512, 0, 0, 0},
  {TAG('M', 'm', 'S', 't'), 5, 1, 4 * 1024, 2, 1, 64},
};

static const SYSTEM_POOLTAG session1_tags[] = {
  {TAG('G', 'h', '0', '5'), 4, 4, 0, 1, 0, 128},
  {TAG('U', 's', 't', 'i'), 0xFFFFFFFEu, 0xFFFFFFFAu, 4 * 96, 0, 0, 0},
};

// Class 255's table: counts past 2^32 that class 22 could only show wrapped.
static const SYSTEM_POOLTAG2 system_tags2[] = {
  {TAG('P', 'r', 'o', 'c'), 12, 4, 8 * 4096, (size_t)6 << 30, ((size_t)6 << 30) - 1000, 5 * GIB + 12345},
  {TAG('W', 'r', 'a', 'p'), ((size_t)1 << 32) + 0x10, 0xFFFFFFF0u, 32 * 64, 0, 0, 0},
};

#define COUNT(a) (uint32_t)(sizeof(a) / sizeof((a)[0]))

// Filler tags 'z' + three letters make the tables outgrow the caller's first buffer, as a real table of a
// few thousand tags does, so the grow-and-retry loop has to go through the FFI call twice.
static int session_supported = 1;
static int pooltag2_supported = 0;
static uint32_t filler_tags = 0;

static SYSTEM_POOLTAG filler(uint32_t i, int session) {
  SYSTEM_POOLTAG t = {TAG('z', 'a' + i / 676, 'a' + i / 26 % 26, 'a' + i % 26), 0, 0, 0, 0, 0, 0};
  if (session) {
    t.PagedAllocs = 2;
    t.PagedFrees = 1;
    t.PagedUsed = (size_t)i * 8;
  } else {
    t.PagedAllocs = i + 1;
    t.PagedFrees = i;
    t.PagedUsed = 64;
  }
  return t;
}

// The buffer size each call offered (class 67: its SizeOfBuf), so the test sees the retry happen at the
// native boundary and not only in the TypeScript loop.
#define MAX_CALLS 64
static uint32_t call_class[MAX_CALLS];
static uint32_t call_size[MAX_CALLS];
static uint32_t call_count = 0;

void FakeNtConfigure(int sessionSupported, uint32_t fillerTags) {
  session_supported = sessionSupported;
  filler_tags = fillerTags > 26 * 26 * 26 ? 26 * 26 * 26 : fillerTags;
  call_count = 0;
}

/** Whether class 255 answers (Windows 26H1+) or is an unknown class (older Windows). */
void FakeNtConfigurePooltag2(int supported) { pooltag2_supported = supported; }

uint32_t FakeNtCallCount(void) { return call_count; }
uint32_t FakeNtCallClass(uint32_t i) { return i < call_count ? call_class[i] : 0; }
uint32_t FakeNtCallSize(uint32_t i) { return i < call_count ? call_size[i] : 0; }

static void log_call(uint32_t cls, uint32_t size) {
  if (call_count < MAX_CALLS) {
    call_class[call_count] = cls;
    call_size[call_count] = size;
    call_count++;
  }
}

static uint32_t query_pooltags(uint8_t *buf, uint32_t len, uint32_t *retlen) {
  uint32_t count = COUNT(system_tags) + filler_tags;
  size_t need = offsetof(SYSTEM_POOLTAG_INFORMATION_T, TagInfo) + (size_t)count * sizeof(SYSTEM_POOLTAG);
  if (retlen) *retlen = (uint32_t)need;
  if (len < need) return STATUS_INFO_LENGTH_MISMATCH;
  SYSTEM_POOLTAG_INFORMATION_T *info = (SYSTEM_POOLTAG_INFORMATION_T *)buf;
  // The kernel leaves alignment padding as whatever was there; garbage makes a misread visible.
  memset(buf, 0xCC, need);
  info->Count = count;
  memcpy(info->TagInfo, system_tags, sizeof(system_tags));
  for (uint32_t i = 0; i < filler_tags; i++) info->TagInfo[COUNT(system_tags) + i] = filler(i, 0);
  return STATUS_SUCCESS;
}

static uint32_t query_pooltags2(uint8_t *buf, uint32_t len, uint32_t *retlen) {
  if (!pooltag2_supported) return STATUS_INVALID_INFO_CLASS;
  size_t need = offsetof(SYSTEM_POOLTAG_INFORMATION2_T, TagInfo) + sizeof(system_tags2);
  if (retlen) *retlen = (uint32_t)need;
  if (len < need) return STATUS_INFO_LENGTH_MISMATCH;
  memset(buf, 0xCC, need);
  SYSTEM_POOLTAG_INFORMATION2_T *info = (SYSTEM_POOLTAG_INFORMATION2_T *)buf;
  info->Count = COUNT(system_tags2);
  memcpy(info->TagInfo, system_tags2, sizeof(system_tags2));
  return STATUS_SUCCESS;
}

static size_t session_entry_size(uint32_t count) {
  return offsetof(SYSTEM_SESSION_POOLTAG_INFORMATION_T, TagInfo) + (size_t)count * sizeof(SYSTEM_POOLTAG);
}

static uint32_t query_session_pooltags(uint8_t *buf, uint32_t len, uint32_t *retlen) {
  if (len != sizeof(SYSTEM_SESSION_PROCESS_INFORMATION)) {
    log_call(SYSTEM_SESSION_POOLTAG_INFORMATION, len);
    return STATUS_INFO_LENGTH_MISMATCH;
  }
  SYSTEM_SESSION_PROCESS_INFORMATION header;
  memcpy(&header, buf, sizeof(header));
  log_call(SYSTEM_SESSION_POOLTAG_INFORMATION, header.SizeOfBuf);
  if (!session_supported) return STATUS_INVALID_INFO_CLASS;

  int want0 = header.SessionId == ALL_SESSIONS || header.SessionId == 0;
  int want1 = header.SessionId == ALL_SESSIONS || header.SessionId == 1;
  uint32_t count1 = COUNT(session1_tags) + filler_tags;
  size_t size0 = want0 ? session_entry_size(COUNT(session0_tags)) : 0;
  size_t need = size0 + (want1 ? session_entry_size(count1) : 0);
  if (retlen) *retlen = (uint32_t)need;
  if (header.SizeOfBuf < need) return STATUS_INFO_LENGTH_MISMATCH;

  uint8_t *out = header.Buffer;
  memset(out, 0xCC, need);
  if (want0) {
    SYSTEM_SESSION_POOLTAG_INFORMATION_T *s0 = (SYSTEM_SESSION_POOLTAG_INFORMATION_T *)out;
    s0->NextEntryOffset = want1 ? size0 : 0;
    s0->SessionId = 0;
    s0->Count = COUNT(session0_tags);
    memcpy(s0->TagInfo, session0_tags, sizeof(session0_tags));
  }
  if (want1) {
    SYSTEM_SESSION_POOLTAG_INFORMATION_T *s1 = (SYSTEM_SESSION_POOLTAG_INFORMATION_T *)(out + size0);
    s1->NextEntryOffset = 0;
    s1->SessionId = 1;
    s1->Count = count1;
    memcpy(s1->TagInfo, session1_tags, sizeof(session1_tags));
    for (uint32_t i = 0; i < filler_tags; i++) s1->TagInfo[COUNT(session1_tags) + i] = filler(i, 1);
  }
  return STATUS_SUCCESS;
}

uint32_t NtQuerySystemInformation(uint32_t cls, void *buf, uint32_t len, uint32_t *retlen) {
  switch (cls) {
    case SYSTEM_POOLTAG_INFORMATION:
      log_call(cls, len);
      return query_pooltags(buf, len, retlen);
    case SYSTEM_POOLTAG_INFORMATION2:
      log_call(cls, len);
      return query_pooltags2(buf, len, retlen);
    case SYSTEM_SESSION_POOLTAG_INFORMATION:
      return query_session_pooltags(buf, len, retlen);
    default:
      log_call(cls, len);
      return STATUS_INVALID_INFO_CLASS;
  }
}
