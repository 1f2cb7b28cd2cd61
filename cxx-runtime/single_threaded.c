/*
 * glibc's __libc_single_threaded (<sys/single_threaded.h>), read by libstdc++
 * (shared_ptr, std::string, locale refcounts) to skip atomic instructions.
 * It stays 0 forever: Ferrite runs threads, and musl would never tell us when
 * the first one starts, so libstdc++ must always use atomic refcounts.
 */
char __libc_single_threaded = 0;
