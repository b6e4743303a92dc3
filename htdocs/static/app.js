/* Progressive enhancement only: every page works without this file. */
"use strict";
document.addEventListener("DOMContentLoaded", function () {
	// Times come in UTC; show them in the reader's own zone.
	document.querySelectorAll("time[datetime]").forEach(function (t) {
		var d = new Date(t.getAttribute("datetime"));
		if (isNaN(d)) return;
		t.title = t.textContent;
		t.textContent = d.toLocaleString(undefined, {
			year: "numeric", month: "short", day: "numeric",
			hour: "2-digit", minute: "2-digit" });
	});
	document.querySelectorAll("button[data-copy]").forEach(function (b) {
		b.addEventListener("click", function () {
			var field = document.getElementById(b.getAttribute("data-copy"));
			if (!field) return;
			field.select();
			var done = function () { b.textContent = "Copied"; };
			if (navigator.clipboard && window.isSecureContext)
				navigator.clipboard.writeText(field.value).then(done, function () {});
			else if (document.execCommand("copy")) done();
		});
	});

	// The live counter: X's weighted length as you type (the server
	// counts again and has the last word).
	var text = document.getElementById("text");
	var counter = document.getElementById("counter");
	if (text && counter && window.sosyabotTweetLength) {
		var max = Number(counter.getAttribute("data-max")) || 280;
		var cost = document.getElementById("cost");
		var boxes = document.querySelectorAll('input[name="channel"][data-mode="oauth"]');
		var update = function () {
			var r = window.sosyabotTweetLength(text.value);
			counter.textContent = r.weightedLength + " / " + max;
			counter.classList.toggle("over", !r.valid && r.weightedLength > 0);
			if (!cost) return;
			// What X will bill for this text on the chosen API channels.
			var n = 0;
			boxes.forEach(function (b) { if (b.checked) n++; });
			var each = Number(cost.getAttribute(r.urls > 0 ? "data-post-url" : "data-post"));
			cost.textContent = n === 0 ? "No X charge: no API channel is chosen." :
			    "Estimated X charge: $" + (each * n).toFixed(3) + " (" + n +
			    " post" + (n > 1 ? "s" : "") + (r.urls > 0 ? " with a URL" : "") + ").";
		};
		text.addEventListener("input", update);
		boxes.forEach(function (b) { b.addEventListener("change", update); });
		update();
	}
	// Scheduled times are wall-clock times in the browser's zone.
	var tz = document.getElementById("tz");
	if (tz && window.Intl) {
		tz.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
		var note = document.getElementById("tz-note");
		if (note && tz.value) note.textContent = "(" + tz.value + ")";
	}
});
