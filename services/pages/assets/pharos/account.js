// The reset link carries its token in the fragment (#jeton=…), which browsers never send
// to a server: move it into the form, then out of the address bar and the history.
(function () {
  'use strict';
  var match = /(?:^#|&)jeton=([^&]+)/.exec(window.location.hash);
  var field = document.getElementById('jeton');
  if (match && field) {
    field.value = decodeURIComponent(match[1]);
    window.history.replaceState(null, '', window.location.pathname);
  }
}());
