// echo: the server half of the echo benchmark, Go's side (bench/echo.c is
// gort's). The load generator (bench/loadgen) measures and prints the
// result lines; this program prints none.
//
// As the peers' Go echo server: listen on -addr (127.0.0.1:0, a port the
// kernel chooses), print "LISTEN <host:port>" on stdout, then one goroutine
// per accepted connection: read up to 4096 bytes, write them back, until the
// client closes. Exits by itself after -life.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"time"
)

func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

func main() {
	procs := flag.Int("procs", 2, "GOMAXPROCS")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	life := flag.Duration("life", 60*time.Second, "exit after this long")
	flag.Parse()
	runtime.GOMAXPROCS(*procs)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
	fmt.Printf("LISTEN %s\n", ln.Addr())
	if *life > 0 {
		time.AfterFunc(*life, func() { os.Exit(0) })
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "echo: accept:", err)
			os.Exit(1)
		}
		go serve(c)
	}
}
