/* Progressive enhancement only: every page works without this file. */
"use strict";
document.addEventListener("DOMContentLoaded", function () {
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
