/* config-reader: a service that reads its configuration from a file, as servers do.
 *
 * The file /etc/greeter.conf (and the message of the day it names) is packed into the image
 * from rootfs/ (ferrite_add_image(... ROOTFS rootfs)); at boot Ferrite unpacks it into the
 * in-memory root file system before main() runs. Run natively, point it at the same folder:
 *   config-reader --root examples/config-reader/rootfs
 * An optional argument overrides the file: config-reader /etc/other.conf. Exit status: 0, or 2
 * when the configuration is missing or invalid (with a message saying what is wrong). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct config {
    char name[64];
    char greeting[64];
    int repeat;
    char motd[128];
};

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
        *--end = '\0';
    return s;
}

static int parse(FILE *f, const char *path, struct config *c)
{
    char line[256];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            fprintf(stderr, "%s:%d: expected 'key = value'\n", path, lineno);
            return -1;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        if (strcmp(key, "name") == 0)
            snprintf(c->name, sizeof c->name, "%s", value);
        else if (strcmp(key, "greeting") == 0)
            snprintf(c->greeting, sizeof c->greeting, "%s", value);
        else if (strcmp(key, "motd") == 0)
            snprintf(c->motd, sizeof c->motd, "%s", value);
        else if (strcmp(key, "repeat") == 0) {
            char *end;
            long n = strtol(value, &end, 10);
            if (*end || n < 1 || n > 100) {
                fprintf(stderr, "%s:%d: repeat must be 1-100\n", path, lineno);
                return -1;
            }
            c->repeat = (int)n;
        } else {
            fprintf(stderr, "%s:%d: unknown key '%s'\n", path, lineno, key);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *root = "";
    const char *file = "/etc/greeter.conf";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--root") == 0 && i + 1 < argc)
            root = argv[++i];
        else
            file = argv[i];
    }
    char path[512];
    snprintf(path, sizeof path, "%s%s", root, file);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "config-reader: cannot open %s: %s\n", file, strerror(errno));
        return 2;
    }
    struct config c = {.name = "world", .greeting = "Hello", .repeat = 1};
    int bad = parse(f, file, &c);
    fclose(f);
    if (bad)
        return 2;
    for (int i = 0; i < c.repeat; i++)
        printf("%s, %s! (%d/%d)\n", c.greeting, c.name, i + 1, c.repeat);
    if (c.motd[0]) {
        char motd_path[512];
        snprintf(motd_path, sizeof motd_path, "%s/etc/%s", root, c.motd);
        FILE *m = fopen(motd_path, "r");
        if (!m) {
            fprintf(stderr, "config-reader: cannot open /etc/%s: %s\n", c.motd, strerror(errno));
            return 2;
        }
        char line[256];
        while (fgets(line, sizeof line, m))
            printf("motd: %s", line);
        fclose(m);
    }
    return 0;
}
