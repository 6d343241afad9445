// http_hello: the server of the http_hello benchmark, Go's side
// (bench/http_hello.c is gort's): net/http answering every request with
// "Hello, World!" (text/plain, keep-alive, Go's default headers). wrk, run
// by bench/wrk.sh, measures requests/s and latency and prints the result
// lines; this program prints none.
//
// Same flags and start-up line as the echo servers: listen on -addr
// (127.0.0.1:0), print "LISTEN <host:port>" on stdout, exit after -life.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"time"
)

func hello(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "Hello, World!")
}

func main() {
	procs := flag.Int("procs", 2, "GOMAXPROCS")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	life := flag.Duration("life", 60*time.Second, "exit after this long")
	flag.Parse()
	runtime.GOMAXPROCS(*procs)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "http_hello:", err)
		os.Exit(1)
	}
	fmt.Printf("LISTEN %s\n", ln.Addr())
	if *life > 0 {
		time.AfterFunc(*life, func() { os.Exit(0) })
	}
	http.HandleFunc("/", hello)
	if err := http.Serve(ln, nil); err != nil {
		fmt.Fprintln(os.Stderr, "http_hello:", err)
		os.Exit(1)
	}
}
