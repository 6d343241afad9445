/*
 * nested_spawn_test proves that goroutines spawned by goroutines work at
 * depth and breadth:
 *  - a chain of 10,000 goroutines (fewer under sanitizers), each spawning
 *    the next and waiting for it on its own waitgroup: all of them are
 *    alive at the deepest point, and they finish in exactly reverse order;
 *  - a tree with fan-out 10 and 5 levels (11,111 goroutines; 4 levels,
 *    1,111, under sanitizers): each node waits for its 10 children and
 *    adds up their subtree sizes, so every node must count exactly its
 *    subtree size and the root the whole tree.
 * Both run at GOMAXPROCS 1 and 2.
 */
#include "gort_util.h"

/* ---------------------------------------------------------------------
 * Chain
 * ------------------------------------------------------------------- */

static long chain_len;
static gort_waitgroup *chain_wg; /* chain_wg[d]: link d waits for d + 1 */
static gort_waitgroup root_wg;   /* main waits for link 0 */
static long *finish_order;       /* finish_order[k]: link finishing k-th */
static atomic_long finished;
static atomic_llong alive_at_bottom;

static gort_waitgroup *parent_wg(long d)
{
	return d == 0 ? &root_wg : &chain_wg[d - 1];
}

static void chain_link(void *arg)
{
	long d = (long)(intptr_t)arg;
	if (d + 1 < chain_len) {
		CHECK_EQ(gort_wg_add(&chain_wg[d], 1), 0);
		if (gort_go(chain_link, (void *)(intptr_t)(d + 1)) < 0)
			FAILF("gort_go at depth %ld: %s", d, strerror(errno));
		CHECK_EQ(gort_wg_wait(&chain_wg[d]), 0);
	} else {
		atomic_store(&alive_at_bottom, (long long)gort_numgoroutine());
	}
	finish_order[atomic_fetch_add(&finished, 1)] = d;
	CHECK_EQ(gort_wg_done(parent_wg(d)), 0);
}

static int chain_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_wg_add(&root_wg, 1), 0);
	CHECK(gort_go(chain_link, (void *)(intptr_t)0) > 1);
	CHECK_EQ(gort_wg_wait(&root_wg), 0);
	CHECK_EQ(atomic_load(&finished), chain_len);
	/* main + every link: each parent waits while its child runs. */
	CHECK_EQ(atomic_load(&alive_at_bottom), chain_len + 1);
	for (long k = 0; k < chain_len; k++) {
		if (finish_order[k] != chain_len - 1 - k)
			FAILF("finish #%ld was link %ld, want %ld", k,
			      finish_order[k], chain_len - 1 - k);
	}
	wait_only_main();
	return 0;
}

static void run_chain(int procs)
{
	chain_len = SCALE(10000);
	chain_wg = calloc((size_t)chain_len, sizeof(*chain_wg));
	finish_order = calloc((size_t)chain_len, sizeof(*finish_order));
	CHECK(chain_wg != NULL && finish_order != NULL);
	run_main(chain_main, NULL, procs);
	free(chain_wg);
	free(finish_order);
}

static void chain_procs1(void)
{
	run_chain(1);
}

static void chain_procs2(void)
{
	run_chain(2);
}

/* ---------------------------------------------------------------------
 * Tree
 * ------------------------------------------------------------------- */

#define FANOUT 10

struct node {
	int level;             /* 0 = root */
	struct node *parent;   /* NULL for the root */
	gort_waitgroup kids;   /* counts children still running */
	atomic_long size;      /* this node plus its finished subtrees */
};

static int tree_levels;
static atomic_long tree_nodes;
static atomic_long tree_bad; /* nodes whose count came out wrong */

/* subtree_size is the node count of a full tree with the given levels. */
static long subtree_size(int levels)
{
	long n = 0;
	long width = 1;
	for (int i = 0; i < levels; i++) {
		n += width;
		width *= FANOUT;
	}
	return n;
}

static void tree_node(void *arg)
{
	struct node *nd = arg;
	atomic_fetch_add(&tree_nodes, 1);
	atomic_store(&nd->size, 1);
	if (nd->level + 1 < tree_levels) {
		struct node *kids = calloc(FANOUT, sizeof(*kids));
		CHECK(kids != NULL);
		CHECK_EQ(gort_wg_add(&nd->kids, FANOUT), 0);
		for (int i = 0; i < FANOUT; i++) {
			kids[i].level = nd->level + 1;
			kids[i].parent = nd;
			if (gort_go(tree_node, &kids[i]) < 0)
				FAILF("gort_go in the tree: %s",
				      strerror(errno));
		}
		CHECK_EQ(gort_wg_wait(&nd->kids), 0);
		free(kids);
	}
	if (atomic_load(&nd->size) != subtree_size(tree_levels - nd->level))
		atomic_fetch_add(&tree_bad, 1);
	if (nd->parent != NULL) {
		atomic_fetch_add(&nd->parent->size, atomic_load(&nd->size));
		CHECK_EQ(gort_wg_done(&nd->parent->kids), 0);
	}
}

static int tree_main(void *arg)
{
	(void)arg;
	static struct node root;
	static struct node top; /* stands for main as the root's parent */
	root.parent = &top;
	CHECK_EQ(gort_wg_add(&top.kids, 1), 0);
	CHECK(gort_go(tree_node, &root) > 1);
	CHECK_EQ(gort_wg_wait(&top.kids), 0);
	long want = subtree_size(tree_levels);
	CHECK_EQ(atomic_load(&tree_nodes), want);
	CHECK_EQ(atomic_load(&root.size), want);
	CHECK_EQ(atomic_load(&top.size), want);
	CHECK_EQ(atomic_load(&tree_bad), 0);
	wait_only_main();
	return 0;
}

static void run_tree(int procs)
{
	tree_levels = HARNESS_SANITIZED ? 4 : 5;
	run_main(tree_main, NULL, procs);
}

static void tree_procs1(void)
{
	run_tree(1);
}

static void tree_procs2(void)
{
	run_tree(2);
}

int main(void)
{
	RUN_CASE(chain_procs1, 30);
	RUN_CASE(chain_procs2, 30);
	RUN_CASE(tree_procs1, 30);
	RUN_CASE(tree_procs2, 30);
	PASS("nested_spawn_test");
	return 0;
}
