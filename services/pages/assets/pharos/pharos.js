// Pharos's own script: nothing inline (the content security policy forbids it).
//
// Live dashboard: while the figures shown are today's, the page subscribes to the read
// model's `dashboardChanged` over WebSocket (protocol graphql-transport-ws; the session
// cookie authenticates the upgrade) and asks htmx to reload the indicators when the
// projector says they changed. A lost connection is retried with a growing delay.
(function () {
  'use strict';

  // `after`: the position of the figures shown, so that a change between their reading
  // and the subscription is announced at once (and, on a reconnection, one missed
  // while the connection was down).
  var QUERY = 'subscription ($schoolYear: String!, $department: String, $after: Int) {' +
    ' dashboardChanged(schoolYear: $schoolYear, department: $department, after: $after) { position } }';

  function say(text) {
    var status = document.getElementById('etat-direct');
    if (status) { status.textContent = text; }
  }

  function time() {
    return new Date().toLocaleTimeString('fr-FR', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  function follow(variables, delay) {
    var scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    var socket = new WebSocket(scheme + location.host + '/graphql/ws', 'graphql-transport-ws');
    var opened = false;
    socket.addEventListener('open', function () {
      socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    });
    socket.addEventListener('message', function (event) {
      var message = JSON.parse(event.data);
      if (message.type === 'connection_ack') {
        opened = true;
        delay = 1000;
        socket.send(JSON.stringify({
          id: 'tableau-de-bord', type: 'subscribe',
          payload: { query: QUERY, variables: variables }
        }));
      } else if (message.type === 'next') {
        var change = message.payload && message.payload.data && message.payload.data.dashboardChanged;
        if (change) { variables.after = change.position; }
        window.htmx.trigger(document.body, 'pharos:changed');
        say('Chiffres mis à jour à ' + time() + '.');
      } else if (message.type === 'ping') {
        socket.send(JSON.stringify({ type: 'pong' }));
      } else if (message.type === 'error') {
        say('La mise à jour en direct est interrompue ; rechargez la page.');
      }
    });
    socket.addEventListener('close', function () {
      if (opened) { say('Connexion en direct perdue ; nouvelle tentative…'); }
      window.setTimeout(function () { follow(variables, Math.min(delay * 2, 60000)); }, delay);
    });
  }

  function start() {
    var container = document.querySelector('[data-subscription]');
    if (!container || !('WebSocket' in window)) { return; }
    follow(JSON.parse(container.getAttribute('data-subscription')), 1000);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
