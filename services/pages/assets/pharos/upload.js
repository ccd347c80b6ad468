// Uploads a contest entry's file straight to the API with a progress bar: the file is
// the raw request body (`POST /api/v1/entries/{id}/files`, its own Content-Type), sent by
// XMLHttpRequest, whose upload.onprogress reports the bytes sent (fetch cannot). Same
// origin: the session cookie authenticates, the Origin header passes the API's check.
// Progressive enhancement: without this script the same form posts the file to the pages
// (multipart), which forward it to the API; with it, the submit is intercepted here.
(function () {
  'use strict';

  function start() {
    var form = document.getElementById('televersement');
    if (!form) { return; }
    var input = document.getElementById('fichier');
    var bar = document.getElementById('envoi-progression');
    var zone = document.getElementById('envoi-zone');
    var status = document.getElementById('envoi-etat');
    var alert = document.getElementById('envoi-erreur');
    var button = form.querySelector('button[type="submit"]');
    var max = Number(form.getAttribute('data-max-bytes')) || 0;

    // The refusal of a previous post without this script, next to the field.
    function clearServerError() {
      var previous = document.getElementById('fichier-erreur');
      if (!previous) { return; }
      previous.remove();
      document.getElementById('fichier-groupe').classList.remove('fr-upload-group--error');
      input.setAttribute('aria-describedby', 'envoi-etat');
    }

    function fail(text) {
      alert.querySelector('p').textContent = text;
      alert.hidden = false;
      status.textContent = '';
      zone.hidden = true;
      button.disabled = false;
    }

    form.addEventListener('submit', function (event) {
      event.preventDefault();
      alert.hidden = true;
      clearServerError();
      var file = input.files && input.files[0];
      if (!file) { fail('Choisissez d\'abord un fichier.'); return; }
      // The API refuses it too (413, nothing kept): saying so spares a long upload.
      if (max && file.size > max) {
        fail('Ce fichier dépasse la taille maximale du règlement : choisissez un fichier plus léger.');
        return;
      }
      var request = new XMLHttpRequest();
      request.open('POST', form.getAttribute('data-upload-url') + '?name=' + encodeURIComponent(file.name));
      request.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
      bar.value = 0;
      zone.hidden = false;
      button.disabled = true;
      status.textContent = 'Envoi en cours…';
      request.upload.addEventListener('progress', function (e) {
        if (e.lengthComputable) {
          bar.value = Math.round((e.loaded / e.total) * 100);
          status.textContent = 'Envoi en cours : ' + bar.value + ' %';
        }
      });
      request.addEventListener('load', function () {
        if (request.status === 200 || request.status === 201) {
          bar.value = 100;
          status.textContent = 'Fichier reçu.';
          window.location.assign(form.getAttribute('data-done-url'));
          return;
        }
        var detail = 'Le fichier a été refusé (HTTP ' + request.status + ').';
        try {
          var problem = JSON.parse(request.responseText);
          if (problem && problem.detail) { detail = problem.detail; }
        } catch (ignored) { /* not problem+json: the generic sentence */ }
        fail(detail);
      });
      request.addEventListener('error', function () {
        fail('L\'envoi a été interrompu : vérifiez la connexion, puis recommencez.');
      });
      request.send(file);
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
