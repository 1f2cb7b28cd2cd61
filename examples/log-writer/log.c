/* log-writer: worker threads append log lines to one file, as a server's access log; the
 * file is rotated (renamed to .1) when it passes a size, and at the end the service reads both
 * files back and checks that every line arrived whole and exactly once.
 *
 *   log-writer [THREADS [LINES_PER_THREAD [DIR]]]     (defaults: 4 threads, 2000 lines, /var/log)
 *
 * Each line is written with one write() on an O_APPEND descriptor, with no lock, so lines
 * from threads on different CPUs must never interleave. Rotation (once) renames the file and
 * publishes a new descriptor; a writer still holding the old one finishes its line in the
 * rotated file, which stays open until the end. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROTATE_BYTES (64 * 1024)

static char log_path[256], rotated_path[256];
static _Atomic int log_fd = -1;
static int old_fd = -1;
static pthread_mutex_t rotate_lock = PTHREAD_MUTEX_INITIALIZER;
static int rotations;
static int lines_per_thread = 2000;

static void die(const char *what)
{
    fprintf(stderr, "log-writer: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int open_log(void)
{
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        die("open log");
    return fd;
}

static void maybe_rotate(void)
{
    pthread_mutex_lock(&rotate_lock);
    struct stat st;
    if (fstat(log_fd, &st) == 0 && st.st_size >= ROTATE_BYTES && rotations == 0) {
        if (rename(log_path, rotated_path) != 0)
            die("rotate");
        old_fd = log_fd;
        log_fd = open_log();
        rotations++;
    }
    pthread_mutex_unlock(&rotate_lock);
}

static void *worker(void *arg)
{
    int id = (int)(long)arg;
    char line[128];
    for (int i = 0; i < lines_per_thread; i++) {
        int n = snprintf(line, sizeof line, "worker %d request %d status %d\n", id, i,
                         i % 7 == 0 ? 404 : 200);
        if (write(log_fd, line, n) != n)
            die("write log line");
        if (i % 64 == 0)
            maybe_rotate();
    }
    return NULL;
}

/* Counts the lines of one file into seen[worker][request]; returns the number of lines. */
static long check_file(const char *path, unsigned char *seen, int threads, long *bad)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[256];
    long lines = 0;
    while (fgets(line, sizeof line, f)) {
        int id, req, status;
        if (sscanf(line, "worker %d request %d status %d", &id, &req, &status) != 3 || id < 0 ||
            id >= threads || req < 0 || req >= lines_per_thread) {
            (*bad)++;
            continue;
        }
        seen[(long)id * lines_per_thread + req]++;
        lines++;
    }
    fclose(f);
    return lines;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    if (argc > 2)
        lines_per_thread = atoi(argv[2]);
    const char *dir = argc > 3 ? argv[3] : "/var/log";
    if (threads < 1 || threads > 64 || lines_per_thread < 1) {
        fprintf(stderr, "usage: log-writer [THREADS 1-64 [LINES_PER_THREAD [DIR]]]\n");
        return 2;
    }
    mkdir("/var", 0755);
    mkdir(dir, 0755);
    snprintf(log_path, sizeof log_path, "%s/access.log", dir);
    snprintf(rotated_path, sizeof rotated_path, "%s/access.log.1", dir);
    unlink(log_path);
    unlink(rotated_path);
    log_fd = open_log();

    pthread_t t[64];
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, (void *)(long)i);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    close(log_fd);
    if (old_fd >= 0)
        close(old_fd);

    unsigned char *seen = calloc((size_t)threads * lines_per_thread, 1);
    long bad = 0;
    long lines = check_file(rotated_path, seen, threads, &bad) +
                 check_file(log_path, seen, threads, &bad);
    long missing = 0, twice = 0;
    for (long i = 0; i < (long)threads * lines_per_thread; i++) {
        missing += seen[i] == 0;
        twice += seen[i] > 1;
    }
    printf("%d threads wrote %ld lines (%d rotation%s); torn lines: %ld, missing: %ld, "
           "duplicated: %ld\n",
           threads, lines, rotations, rotations == 1 ? "" : "s", bad, missing, twice);
    return bad || missing || twice ? 1 : 0;
}
