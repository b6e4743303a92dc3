#!/usr/bin/env node
/*
 * The browser's post length (htdocs/static/tweetlen.js) and the server's
 * (lib/tweetlen.c, through tests/unit/tweetlen_cli) must agree with each
 * other and with twitter-text's conformance cases for configuration v3.
 * A fixed corpus generated from URL pieces, emoji, CJK and combining
 * marks goes through both as well; it needs no data file.
 *
 * Usage: node tests/unit/tweetlen-agree.js PATH/TO/tweetlen_cli
 * The conformance file: $SOSYABOT_SHARED_DATA/twitter-text/validate.json,
 * else ../shared/data/twitter-text/validate.json beside the source tree;
 * without it only the corpus runs.  Ends with "N passed, N failed".
 */
"use strict";
var fs = require("fs");
var path = require("path");
var spawnSync = require("child_process").spawnSync;

var top = process.env.top_srcdir || path.resolve(__dirname, "..", "..");
var count = require(path.join(top, "htdocs", "static", "tweetlen.js"));
var cli = process.argv[2];
var GROUPS = ["WeightedTweetsWithDiscountedEmojiCounterTest",
    "UnicodeDirectionalMarkerCounterTest"];

function conformanceCases() {
	var file = process.env.SOSYABOT_SHARED_DATA ?
	    path.join(process.env.SOSYABOT_SHARED_DATA, "twitter-text",
	    "validate.json") :
	    path.join(top, "..", "shared", "data", "twitter-text",
	    "validate.json");
	if (!fs.existsSync(file)) {
		console.log("# " + file + " not found: conformance cases skipped");
		return [];
	}
	var tests = JSON.parse(fs.readFileSync(file, "utf8")).tests;
	var cases = [];
	GROUPS.forEach(function (g) {
		tests[g].forEach(function (c) {
			cases.push({ name: g + ": " + c.description, text: c.text,
			    want: c.expected });
		});
	});
	return cases;
}

// Pieces that exercise each rule; any concatenation is well-formed UTF-16,
// which the C side (valid UTF-8 only) needs.
var PIECES = [
	"http://", "https://", "HTTPS://", "www.", "example", ".com", ".co",
	".jp", ".\u0440\u0444", "xn--", "p1ai", "/", "path", "(", ")", "?",
	"q=1", "&", "#", ":", "8080", "@", "-", "_", ".", "t.co/", "abc",
	"\u2603", "\u65e5\u672c", "\u00e4", "\u0416", "\u2c65", "\u212a",
	"\u1c80", " ", "\n", "\u3002", "'", "\"", "$", "e\u0301", "\u00df",
	".\u03b5\u03bb", "a", "1", "!", ",", "\u2013", "~", "|", "=", "+", "%",
	"[", "]", ".org", ".museum", ".onion", "COM", "\u202a", "\u2066",
	"longlabellonglabellonglabellonglabellonglabellonglabellonglab",
	"\ud83d\ude00", "\ud83d\udc4d\ud83c\udffd", "\ufe0f", "\ufe0e",
	"\u200d", "\ud83c\uddfa\ud83c\uddf8", "1\u20e3", "#\ufe0f\u20e3",
	"\u00a9", "\u2122", "\u263a", "\u261d\ud83c\udffb",
	"\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u200d\ud83d\udc66",
	"\ud83c\udff3\ufe0f\u200d\ud83c\udf08", "\ud83c\udffb", "\u2764",
	"\u231a", "\ud83c\udff4\udb40\udc67\udb40\udc62\udb40\udc65" +
	"\udb40\udc6e\udb40\udc67\udb40\udc7f", "\ufeff", "\ufffe",
	"\ud835\udc9c", "\u4e2d", "\u1100\u1161", "\u212b", "\u0000",
	"\ud83e\udef7\ud83c\udffb"
];

// The same texts on every run: a small linear congruential generator.
function corpus(n) {
	var seed = 20240601, texts = [];
	function rnd(k) {
		seed = (seed * 1103515245 + 12345) % 2147483648;
		return seed % k;
	}
	for (var i = 0; i < n; i++) {
		var s = "", k = 1 + rnd(14);
		while (k--)
			s += PIECES[rnd(PIECES.length)];
		texts.push({ name: "corpus " + i, text: s });
	}
	return texts;
}

function main() {
	if (!cli) {
		console.error("usage: tweetlen-agree.js PATH/TO/tweetlen_cli");
		process.exit(2);
	}
	var cases = conformanceCases().concat(corpus(3000));
	var run = spawnSync(cli, { maxBuffer: 1 << 26, input: cases.map(
	    function (c) { return JSON.stringify(c.text); }).join("\n") + "\n" });
	var lines = run.status === 0 ? String(run.stdout).split("\n") : [];
	if (run.status !== 0 || lines.length !== cases.length + 1) {
		console.log("not ok - " + cli + " failed: " +
		    (run.error || String(run.stderr)));
		console.log("0 passed, " + cases.length + " failed");
		process.exit(1);
	}
	var passed = 0, failed = 0;
	cases.forEach(function (c, i) {
		var js = count(c.text), f = lines[i].split(" ").map(Number);
		var c99 = { weightedLength: f[0], valid: f[1] === 1,
		    permillage: f[2] };
		var want = c.want || js;
		var same = [js, c99].every(function (r) {
			return r.weightedLength === want.weightedLength &&
			    r.valid === want.valid &&
			    r.permillage === want.permillage;
		});
		if (same) {
			passed++;
			return;
		}
		if (failed++ < 20)
			console.log("not ok - " + c.name + " " +
			    JSON.stringify(c.text) + ": expected " +
			    JSON.stringify(c.want || null) + ", JS " +
			    JSON.stringify(js) + ", C " + JSON.stringify(c99));
	});
	console.log(passed + " passed, " + failed + " failed");
	process.exit(failed ? 1 : 0);
}

main();
