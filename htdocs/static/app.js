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
});
