/* syslog(2) as klogctl calls it: the kernel log's records, the reading actions'
 * argument checks (EINVAL, EFAULT) and the consuming READ, as Linux answers root. */
#include "include/testlib.h"

#include <ctype.h>
#include <string.h>
#include <sys/klog.h>

enum { CLOSE, OPEN, READ, READ_ALL, READ_CLEAR, CLEAR, CONSOLE_OFF, CONSOLE_ON, CONSOLE_LEVEL, SIZE_UNREAD,
       SIZE_BUFFER };

static char text[1 << 17];

/* Whether every line of text[0..length) starts like a printk record read by
 * READ_ALL: "<6>[    1.234567] ". */
static int records_are_well_formed(const char *at, int length)
{
    const char *end = at + length;
    if (length <= 0 || end[-1] != '\n')
        return 0;
    while (at < end) {
        const char *line_end = memchr(at, '\n', end - at);
        if (line_end - at < 17 || at[0] != '<' || !isdigit((unsigned char)at[1]) || at[2] != '>' || at[3] != '[')
            return 0;
        const char *dot = memchr(at + 4, '.', line_end - at - 4);
        if (!dot || dot - (at + 4) < 5 || line_end - dot < 9 || dot[7] != ']' || dot[8] != ' ')
            return 0;
        for (int i = 1; i <= 6; i++)
            if (!isdigit((unsigned char)dot[i]))
                return 0;
        at = line_end + 1;
    }
    return 1;
}

int main(void)
{
    show("close", klogctl(CLOSE, NULL, 0));
    show("open", klogctl(OPEN, NULL, 0));
    report("SIZE_BUFFER is positive", klogctl(SIZE_BUFFER, NULL, 0) > 0);

    int all = klogctl(READ_ALL, text, sizeof text);
    report("READ_ALL returns records", records_are_well_formed(text, all));
    static char copy[sizeof text];
    memcpy(copy, text, all);
    int half = klogctl(READ_ALL, text, all / 2 + 1);
    report("a short READ_ALL gives the newest whole lines that fit",
           half > 0 && half <= all / 2 + 1 && memcmp(text, copy + all - half, half) == 0 &&
               (half == all || copy[all - half - 1] == '\n'));

    show("READ_ALL, NULL buffer", klogctl(READ_ALL, NULL, 10));
    show("READ_ALL, negative length", klogctl(READ_ALL, text, -1));
    show("READ_ALL, no length", klogctl(READ_ALL, text, 0));
    show("READ_ALL, bad buffer", klogctl(READ_ALL, (char *)8, 100));
    show("READ, NULL buffer", klogctl(READ, NULL, 0));
    show("READ_CLEAR, NULL buffer", klogctl(READ_CLEAR, NULL, 10));
    show("action 11", klogctl(11, NULL, 0));
    show("action -1", klogctl(-1, NULL, 0));
    show("CONSOLE_LEVEL 0", klogctl(CONSOLE_LEVEL, NULL, 0));
    show("CONSOLE_LEVEL 9", klogctl(CONSOLE_LEVEL, NULL, 9));
    show("CONSOLE_LEVEL 7", klogctl(CONSOLE_LEVEL, NULL, 7));
    show("CONSOLE_OFF", klogctl(CONSOLE_OFF, NULL, 0));
    show("CONSOLE_ON", klogctl(CONSOLE_ON, NULL, 0));

    int unread = klogctl(SIZE_UNREAD, NULL, 0);
    int taken = klogctl(READ, text, 64);
    report("READ takes unread text from the oldest record", taken > 0 && taken <= 64 && text[0] == '<');
    report("SIZE_UNREAD counts what READ took", klogctl(SIZE_UNREAD, NULL, 0) == unread - taken);

    report("READ_CLEAR returns records", records_are_well_formed(text, klogctl(READ_CLEAR, text, sizeof text)));
    show("READ_ALL after READ_CLEAR", klogctl(READ_ALL, text, sizeof text));
    report("CLEAR leaves SIZE_UNREAD", klogctl(SIZE_UNREAD, NULL, 0) == unread - taken);
    show("CLEAR", klogctl(CLEAR, NULL, 0));
    show("READ_ALL after CLEAR", klogctl(READ_ALL, text, sizeof text));
    return failures != 0;
}
