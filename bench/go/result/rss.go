// The resident memory of this process, for the parked benchmark (its
// metric=rss is the VmRSS delta per goroutine, as the peers define it).

package result

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// RSSBytes returns VmRSS of this process in bytes, read from
// /proc/self/status, or -1 if it cannot be read.
func RSSBytes() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return -1
			}
			return kb * 1024
		}
	}
	return -1
}
